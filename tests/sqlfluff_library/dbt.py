"""`dbt` for sqlfluff's Jinja templater (lint only): ``dbt.split_part(a, b, c)`` renders as
the call ``split_part(a, b, c)``; dbt's own cross-database macros run in the dbt builds."""


def __getattr__(name: str):
    def call(*args):
        return f"{name}({', '.join(str(arg) for arg in args)})"

    return call
