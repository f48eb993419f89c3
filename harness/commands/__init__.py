"""One module per ``harness`` subcommand: ``add_parser(subparsers)`` and the function it calls."""
