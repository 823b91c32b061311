"""The engine: cells and their identity, model inputs, the stream loop, runner, executors, cache, store."""
