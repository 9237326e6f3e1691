"""Escribe ``docs/soluciones.md`` a partir de las celdas de solución de los cuadernos.

Uso: ``python herramientas/soluciones.py`` (``python tareas.py cuadernos`` lo hace al final).
La prueba ``tests/test_ejercicios.py`` comprueba que el archivo está al día:
las soluciones se escriben una sola vez, en su cuaderno.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
DESTINO = RAIZ / "docs" / "soluciones.md"

CABECERA = """# Soluciones de los ejercicios

Para instructores y para quien ya lo intentó. Cada solución está también, plegada, en su
cuaderno, justo después del ejercicio. Este archivo se genera a partir de los cuadernos
(`python tareas.py cuadernos` o `python herramientas/soluciones.py`): no lo edites a mano.
"""


def soluciones(cuaderno: Path) -> list[tuple[str, str]]:
    """``(ejercicio, texto Markdown)`` de cada celda de solución del cuaderno, en orden."""
    celdas = json.loads(cuaderno.read_text(encoding="utf-8"))["cells"]
    resultado = []
    for celda in celdas:
        ident = celda.get("metadata", {}).get("solucion")
        if ident:
            texto = "".join(celda["source"])
            texto = re.sub(r"</?details>|<summary>.*?</summary>", "", texto).strip()
            resultado.append((ident, texto))
    return resultado


def titulo(cuaderno: Path) -> str:
    celdas = json.loads(cuaderno.read_text(encoding="utf-8"))["cells"]
    primera = "".join(celdas[0]["source"]).splitlines()[0]
    return primera.lstrip("# ").strip()


def generar() -> str:
    partes = [CABECERA]
    for cuaderno in sorted((RAIZ / "notebooks").glob("[0-9]*.ipynb")):
        encontradas = soluciones(cuaderno)
        if not encontradas:
            continue
        partes.append(f"\n## {titulo(cuaderno)}\n\nCuaderno: `notebooks/{cuaderno.name}`\n")
        for ident, texto in encontradas:
            partes.append(f"\n### Ejercicio {ident}\n\n{texto}\n")
    return "".join(partes)


if __name__ == "__main__":
    DESTINO.write_text(generar(), encoding="utf-8")
    print(f"Escrito {DESTINO.relative_to(RAIZ)}")
    sys.exit(0)
