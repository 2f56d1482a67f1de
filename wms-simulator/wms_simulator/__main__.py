"""Command line entry point."""


def main() -> None:
    raise SystemExit("wms-simulator: not built yet")
