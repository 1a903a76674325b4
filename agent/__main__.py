"""`python -m agent` runs the `sva` CLI, as `python -m agent.cli` does."""

from agent.cli.main import main

main()
