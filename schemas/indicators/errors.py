"""The one exception of indicator normalization."""


class IndicatorError(ValueError):
    """An indicator value that cannot be normalized; ``reason`` says why, for the partner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
