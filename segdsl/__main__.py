"""`python -m segdsl` runs the `seg` command."""

from segdsl.cli.main import main

main()
