"""The embedded mini CLIPs: training recipe and command (`python -m bench mini ...`)."""
