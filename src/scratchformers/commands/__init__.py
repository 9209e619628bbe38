"""CLI command groups. Each module here defines ``register(subparsers)``; ``cli.py`` finds them."""
