"""What measures the project: the Server-Timing breakdown, Silk (when generated with it) and log filters."""
