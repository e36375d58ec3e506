"""What measures the project: Server-Timing, Silk (when generated with it), logs, request ids and Sentry reports."""
