"""Studies around the benchmark: ablations, severity checks, query comparison, perf, mini CLIP training."""
