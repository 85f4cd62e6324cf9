"""What each ``dltool`` command does, one module per command; ``dltool.cli`` only forwards argv here."""
