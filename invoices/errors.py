class InvoiceInputError(Exception):
    """Input a service refuses, naming the field it is about (422)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class IdempotencyConflict(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class IllegalTransition(Exception):
    def __init__(self, current: str, target: str):
        super().__init__(f"an invoice cannot go from {current} to {target}")
        self.current = current
        self.target = target
