"""La regla de los dos pisos: la capa de datos nunca importa el laboratorio, ni pandas, ni matplotlib.

Son capa de datos todos los módulos de primer nivel del paquete
(``capa_datos_persona/*.py``, también los ``_privados`` y ``__main__.py``); el
laboratorio (``capa_datos_persona/laboratorio/``) se apoya en ellos, nunca al
revés. Se comprueba de dos maneras:

* **Estática**, leyendo con :mod:`ast` los ``import`` de cada módulo. Solo
  ``__main__.py`` puede importar el laboratorio (y así pandas y matplotlib)
  *dentro de una función* (la orden ``demo``), porque eso no pasa al importarlo.
* **Dinámica**, importando el paquete en un proceso nuevo y mirando
  ``sys.modules``: atrapa también lo que la lectura no ve (``importlib``,
  importaciones que llegan a través de otra biblioteca).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import capa_datos_persona

PAQUETE = "capa_datos_persona"
CARPETA = Path(capa_datos_persona.__file__).resolve().parent
MODULOS = sorted(CARPETA.glob("*.py"))
PROHIBIDOS = ("pandas", "matplotlib", f"{PAQUETE}.laboratorio")


def _prohibido(nombre: str) -> bool:
    return any(nombre == p or nombre.startswith(p + ".") for p in PROHIBIDOS)


def _importaciones(arbol: ast.AST, dentro_de_funcion: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Cada ``import``/``from ... import`` con ``True`` si está dentro de una función (no se ejecuta al importar)."""
    for nodo in ast.iter_child_nodes(arbol):
        if isinstance(nodo, (ast.Import, ast.ImportFrom)):
            yield nodo, dentro_de_funcion
        funcion = isinstance(nodo, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield from _importaciones(nodo, dentro_de_funcion or funcion)


def _nombres(nodo: ast.stmt) -> list[str]:
    """Los módulos que puede cargar un import, con los relativos resueltos desde el paquete.

    ``from . import laboratorio`` da ``capa_datos_persona`` y ``capa_datos_persona.laboratorio``.
    """
    if isinstance(nodo, ast.Import):
        return [alias.name for alias in nodo.names]
    assert isinstance(nodo, ast.ImportFrom)
    if nodo.level:  # relativo a un módulo de primer nivel: el paquete es su carpeta
        base = PAQUETE if nodo.level == 1 else "<fuera del paquete>"
        modulo = f"{base}.{nodo.module}" if nodo.module else base
    else:
        modulo = nodo.module or ""
    return [modulo, *(f"{modulo}.{alias.name}" for alias in nodo.names)]


def _infracciones(codigo: str, nombre_archivo: str) -> list[str]:
    """Las importaciones prohibidas de un módulo de la capa de datos, como ``archivo:línea módulo``."""
    encontradas = []
    for nodo, en_funcion in _importaciones(ast.parse(codigo, nombre_archivo)):
        if en_funcion and nombre_archivo == "__main__.py":
            continue  # la orden `demo` carga el laboratorio solo cuando se ejecuta
        for nombre in _nombres(nodo):
            if _prohibido(nombre):
                encontradas.append(f"{nombre_archivo}:{nodo.lineno} {nombre}")
                break
    return encontradas


def test_se_revisan_todos_los_modulos_de_la_capa_de_datos() -> None:
    nombres = {m.name for m in MODULOS}
    for esperado in ("__init__.py", "__main__.py", "conexion.py", "servidor.py", "_embebido.py", "_prestamos.py"):
        assert esperado in nombres
    assert (CARPETA / "laboratorio" / "__init__.py").is_file()  # el laboratorio es un subpaquete: no se revisa


@pytest.mark.parametrize("modulo", MODULOS, ids=lambda m: m.name)
def test_ningun_modulo_importa_el_laboratorio_ni_pandas_ni_matplotlib(modulo: Path) -> None:
    infracciones = _infracciones(modulo.read_text(encoding="utf-8"), modulo.name)
    assert infracciones == [], (
        "La capa de datos no puede importar el laboratorio, pandas ni matplotlib "
        f"(muévelo a capa_datos_persona/laboratorio/): {infracciones}"
    )


@pytest.mark.parametrize(
    ("codigo", "archivo", "prohibido"),
    [
        ("import pandas as pd", "conexion.py", True),
        ("import matplotlib.pyplot as plt", "conexion.py", True),
        ("from .laboratorio import graficas", "conexion.py", True),
        ("from . import laboratorio", "conexion.py", True),
        ("from .laboratorio.fugas import DetectorFugas", "_prestamos.py", True),
        ("from capa_datos_persona.laboratorio import fugas", "servidor.py", True),
        ("from capa_datos_persona import laboratorio", "servidor.py", True),
        ("try:\n    import pandas\nexcept ImportError:\n    pass", "esquema.py", True),
        ("class A:\n    import matplotlib", "persona.py", True),
        ("def f():\n    import pandas", "persona_dao.py", True),  # solo __main__ puede, y solo en funciones
        ("def f():\n    from .laboratorio import experimentos", "__main__.py", False),
        ("from .laboratorio import experimentos", "__main__.py", True),
        ("import pandas_extra\nfrom . import laboratorio_de_otro, conexion", "conexion.py", False),
        ("from .conexion import Conexion\nimport psycopg", "persona_dao.py", False),
    ],
)
def test_la_revision_estatica_distingue_lo_prohibido(codigo: str, archivo: str, prohibido: bool) -> None:
    """La propia comprobación estática: si dejara pasar algo, la prueba de arriba no serviría."""
    assert bool(_infracciones(codigo, archivo)) is prohibido


def test_importar_el_paquete_no_carga_el_laboratorio_ni_pandas_ni_matplotlib() -> None:
    """En un proceso nuevo: ``import capa_datos_persona``, su ``__main__`` y cada módulo de primer nivel."""
    modulos = [f"{PAQUETE}.{m.stem}" for m in MODULOS if m.stem != "__init__"]
    codigo = (
        "import importlib, json, sys\n"
        f"import {PAQUETE}\n"
        f"import {PAQUETE}.__main__\n"
        f"for nombre in {modulos!r}:\n"
        "    importlib.import_module(nombre)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    entorno = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(CARPETA.parent), os.environ.get("PYTHONPATH")]))}
    resultado = subprocess.run(
        [sys.executable, "-c", codigo], capture_output=True, text=True, timeout=60, env=entorno, cwd=CARPETA.parent
    )
    assert resultado.returncode == 0, resultado.stderr
    cargados = json.loads(resultado.stdout.splitlines()[-1])
    assert f"{PAQUETE}.conexion" in cargados and f"{PAQUETE}.__main__" in cargados  # de verdad se importó
    assert [m for m in cargados if _prohibido(m)] == []


@pytest.mark.slow
def test_la_rueda_lleva_todos_los_subpaquetes(tmp_path: Path) -> None:
    """Instalado sin ``-e`` (una rueda, como en Colab con ``pip install git+...``) no falta nada.

    La instalación editable encuentra los subpaquetes en disco aunque la
    configuración no los nombre; una rueda solo lleva los que nombra. Y lleva
    su licencia (MIT) en los metadatos, que es lo que leen pip y las
    herramientas de licencias.
    """
    raiz = Path(capa_datos_persona.__file__).resolve().parent
    esperados = {
        str(ruta.parent.relative_to(raiz.parent)).replace(os.sep, "/")
        for ruta in raiz.rglob("__init__.py")
        if "__pycache__" not in ruta.parts
    }
    assert {"capa_datos_persona", "capa_datos_persona/laboratorio"} <= esperados
    # Se construye desde una copia: pip deja build/ y *.egg-info junto al código que construye.
    copia = tmp_path / "fuente"
    shutil.copytree(raiz, copia / raiz.name, ignore=shutil.ignore_patterns("__pycache__"))
    for archivo in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(raiz.parent / archivo, copia / archivo)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
         "-w", str(tmp_path / "rueda"), str(copia)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (rueda,) = (tmp_path / "rueda").glob("capa_datos_persona-*.whl")
    with zipfile.ZipFile(rueda) as zf:
        nombres = set(zf.namelist())
        metadatos = zf.read(next(n for n in nombres if n.endswith(".dist-info/METADATA"))).decode("utf-8")
        licencias = {n.split(".dist-info/", 1)[1]: zf.read(n) for n in nombres if ".dist-info/licenses/" in n}
    faltan = sorted(paquete for paquete in esperados if f"{paquete}/__init__.py" not in nombres)
    assert not faltan, f"La rueda no lleva estos paquetes: {faltan}"
    # La licencia del código viaja con él (PEP 639): la expresión SPDX y el texto de LICENSE.
    # El material didáctico (CC BY 4.0) no va en la rueda, así que su licencia tampoco.
    cabeceras = metadatos.split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in cabeceras
    assert "License-File: LICENSE" in cabeceras
    assert list(licencias) == ["licenses/LICENSE"]
    assert licencias["licenses/LICENSE"] == (raiz.parent / "LICENSE").read_bytes()
    assert b"Permission is hereby granted, free of charge" in licencias["licenses/LICENSE"]
    assert not any(n.startswith(("notebooks/", "docs/")) for n in nombres)
