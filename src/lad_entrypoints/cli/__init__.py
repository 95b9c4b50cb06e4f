"""The command line (Typer): ``lad <context> <verb>``."""
