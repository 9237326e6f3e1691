"""Los ejercicios comprueban al alumno: sin responder no pasan, y cada solución sí pasa.

* Rápido: en los cuadernos tal como se entregan, cada comprobación dice
  «todavía no has respondido», ninguna salida guardada dice «¡Correcto!» y cada
  ejercicio tiene su celda del alumno, su comprobación y su solución plegada.
* Lento: cada cuaderno se ejecuta entero con las soluciones puestas en las
  celdas del alumno, y cada comprobación dice «¡Correcto!».
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _comun import cargar_modulo

from capa_datos_persona.laboratorio.ejercicios import AUN_NO, CORRECTO

RAIZ = Path(__file__).resolve().parent.parent
CUADERNOS = sorted((RAIZ / "notebooks").glob("[0-9]*.ipynb"))
CON_EJERCICIOS = [c for c in CUADERNOS if '"ejercicio":' in c.read_text(encoding="utf-8")]


def _celdas(cuaderno: Path) -> list[dict]:
    return json.loads(cuaderno.read_text(encoding="utf-8"))["cells"]


def _texto_salidas(celda: dict) -> str:
    partes = []
    for salida in celda.get("outputs", []):
        partes.append("".join(salida.get("text", "")))
        partes.append("".join(salida.get("data", {}).get("text/plain", "")))
    return "".join(partes)


def _codigo_solucion(celda: dict) -> str:
    bloque = re.search(r"```python\n(.*?)```", "".join(celda["source"]), re.S)
    assert bloque, "la celda de solución no tiene un bloque ```python```"
    return bloque.group(1)


def _ejercicios(cuaderno: Path) -> dict[str, dict[str, object]]:
    """Por ejercicio: el índice de la celda del alumno, el de la comprobación y el de la solución."""
    encontrados: dict[str, dict[str, object]] = {}
    for i, celda in enumerate(_celdas(cuaderno)):
        metadatos = celda.get("metadata", {})
        if celda["cell_type"] == "code" and "ejercicio" in metadatos:
            encontrados.setdefault(metadatos["ejercicio"], {})["alumno"] = i
        if celda["cell_type"] == "markdown" and "solucion" in metadatos:
            encontrados.setdefault(metadatos["solucion"], {})["solucion"] = i
        if celda["cell_type"] == "code":
            for ident in re.findall(r'comprobar\(\s*"([\d.]+)"', "".join(celda["source"])):
                encontrados.setdefault(ident, {}).setdefault("comprobaciones", []).append(i)  # type: ignore[union-attr]
    return encontrados


def test_ninguna_salida_guardada_da_una_respuesta_por_buena() -> None:
    for cuaderno in CUADERNOS:
        for i, celda in enumerate(_celdas(cuaderno)):
            assert CORRECTO not in _texto_salidas(celda), f"{cuaderno.name}, celda {i}"


@pytest.mark.parametrize("cuaderno", CON_EJERCICIOS, ids=lambda c: c.stem)
def test_cada_ejercicio_completo_y_sin_responder(cuaderno: Path) -> None:
    celdas = _celdas(cuaderno)
    ejercicios = _ejercicios(cuaderno)
    assert len(ejercicios) >= 2, "cada cuaderno tiene al menos dos ejercicios"
    for ident, partes in ejercicios.items():
        assert {"alumno", "solucion", "comprobaciones"} <= partes.keys(), f"ejercicio {ident}: {partes}"
        alumno = celdas[partes["alumno"]]  # type: ignore[index]
        assert "..." in "".join(alumno["source"]), f"ejercicio {ident}: la celda del alumno empieza con `...`"
        solucion = celdas[partes["solucion"]]  # type: ignore[index]
        assert {"solucion", "remove-cell"} <= set(solucion["metadata"].get("tags", [])), ident
        assert "<details>" in "".join(solucion["source"]), f"ejercicio {ident}: la solución va plegada"
        for indice in partes["comprobaciones"]:  # type: ignore[union-attr]
            assert AUN_NO in _texto_salidas(celdas[indice]), f"ejercicio {ident}: la salida guardada"


def test_soluciones_md_al_dia() -> None:
    modulo = cargar_modulo(RAIZ / "herramientas" / "soluciones.py", "soluciones")
    assert (RAIZ / "docs" / "soluciones.md").read_text(encoding="utf-8") == modulo.generar(), (
        "docs/soluciones.md no coincide con los cuadernos: ejecuta `python herramientas/soluciones.py`"
    )


@pytest.mark.slow
@pytest.mark.parametrize("cuaderno", CON_EJERCICIOS, ids=lambda c: c.stem)
def test_las_soluciones_pasan(cuaderno: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(cuaderno.read_text(encoding="utf-8"), as_version=4)
    ejercicios = _ejercicios(cuaderno)
    for partes in ejercicios.values():
        nb.cells[partes["alumno"]].source = _codigo_solucion(nb.cells[partes["solucion"]])  # type: ignore[index]
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cuaderno.parent)}}).execute()
    for ident, partes in ejercicios.items():
        for indice in partes["comprobaciones"]:  # type: ignore[union-attr]
            salida = _texto_salidas(nb.cells[indice])
            assert CORRECTO in salida, f"ejercicio {ident}: {salida}"
