"""The base of every error a user can cause. Its message is one line naming the input and the problem;
it lives in the lowest layer so every layer can raise one; the CLI prints it without a traceback and exits with `exit_code`."""


class UserError(Exception):
    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message.replace("\n", " ").strip())
