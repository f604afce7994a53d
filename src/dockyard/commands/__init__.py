"""The `dockyard` subcommands, one module each; common.py holds what they
share. cli.py builds the parser that picks one."""
