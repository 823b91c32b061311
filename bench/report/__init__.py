"""Reports: the leaderboard model, statistics, rendering, plots and the published numbers."""
