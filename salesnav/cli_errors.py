"""How a CLI command refuses: in Chinese, without click's English 「Error:」 prefix."""

from __future__ import annotations

import click


class CliError(click.ClickException):
    def show(self, file: object = None) -> None:
        click.echo(f"错误：{self.format_message()}", err=True)
