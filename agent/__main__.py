"""`python -m agent` runs the `sva` CLI (the command modules attach to the one `agent.cli` module)."""

from agent.cli import main

main()
