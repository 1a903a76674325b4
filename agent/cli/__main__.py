"""`python -m agent.cli` runs the `sva` command line."""

from agent.cli.main import main

main()
