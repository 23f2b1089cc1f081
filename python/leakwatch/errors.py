"""Exit statuses and the one-line error a command fails with."""

# Exit statuses. `run` passes the program's own status through, so its own
# failures use the codes env(1) and timeout(1) use for theirs.
EXIT_USAGE = 2
EXIT_RUN_FAILED = 125
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127
EXIT_NO_PROCESS = 3
EXIT_NO_PERMISSION = 4
EXIT_NOT_LEAKWATCH = 5
EXIT_NO_ANSWER = 6
EXIT_DUMPS_OFF = 7

class Failure(Exception):
    """A one-line error for the user, and the exit status that goes with it."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def fail(message, status):
    raise Failure(message, status)
