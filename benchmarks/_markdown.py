"""Cifras y tablas en Markdown, con los números escritos como en español."""

from __future__ import annotations

import statistics


def mediana(valores: list[float]) -> float:
    return statistics.median(valores)


def miles(x: float) -> str:
    """Entero con los millares separados por un espacio, como se escribe en español: 12 276."""
    return f"{x:,.0f}".replace(",", " ")


def fmt_us(valores: list[float]) -> str:
    """Mediana y, entre paréntesis, mínimo–máximo: ``203 (200–219)``."""
    return f"{miles(mediana(valores))} ({miles(min(valores))}–{miles(max(valores))})"


def cumple(valor: float, objetivo: float) -> str:
    return "sí" if valor <= objetivo else "no"


def tabla(cabecera: list[str], filas: list[list[str]]) -> str:
    lineas = ["| " + " | ".join(cabecera) + " |", "| " + " | ".join("---" for _ in cabecera) + " |"]
    lineas += ["| " + " | ".join(fila) + " |" for fila in filas]
    return "\n".join(lineas)


def seccion(titulo: str, explicacion: str, *resto: str) -> str:
    """Una sección: título ``##``, un párrafo y lo demás (tablas, notas) separado por líneas en blanco."""
    return "\n\n".join([f"## {titulo}", explicacion, *resto])
