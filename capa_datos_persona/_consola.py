"""Ayuda de ``argparse`` en español, para la línea de órdenes y los scripts del repositorio."""

from __future__ import annotations

import argparse


class FormatoAyuda(argparse.RawDescriptionHelpFormatter):
    """Ayuda de ``argparse`` que dice «uso:» en lugar de «usage:»."""

    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        return super().add_usage(usage, actions, groups, prefix="uso: " if prefix is None else prefix)


def en_espanol(analizador: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Título «opciones» y ``-h/--ayuda`` en español (el analizador se crea con ``add_help=False``)."""
    analizador._optionals.title = "opciones"
    analizador.add_argument("-h", "--ayuda", action="help", help="muestra esta ayuda y termina")
    return analizador
