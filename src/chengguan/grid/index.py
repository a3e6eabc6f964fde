def invalidate() -> None:
    pass
