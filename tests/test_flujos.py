"""Los flujos de GitHub Actions (``.github/workflows/``), endurecidos, y el de pruebas, completo.

Un flujo corre código del repositorio con un token de GitHub. Cada flujo de la
carpeta, también los que se añadan, tiene que:

* dar al token solo lectura arriba (``permissions: contents: read``); un trabajo
  que publica (GitHub Pages) pide lo suyo, y solo eso;
* clonar sin dejar el token en el clon (``persist-credentials: false``), para que
  un paso comprometido no pueda empujar con él;
* fijar cada acción a una versión mayor o a un commit (``@v7``, ``@<sha>``), nunca a
  una rama (``@main`` cambia sin avisar), y las oficiales como mínimo a su mayor
  actual;
* poner un tiempo máximo a cada trabajo (si no, uno colgado gasta hasta 6 horas).

Y el de pruebas tiene que cubrir el Python más viejo y el más nuevo que admite el
curso en los tres sistemas, y una pasada semanal con psycopg y psycopg-pool en su
última versión, para ver sus cambios antes que los alumnos.

La revisión misma se prueba contra el flujo de la versión 1.0.0, que no cumplía
nada de esto: si no encontrara sus defectos, las pruebas de arriba no servirían.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

RAIZ = Path(__file__).resolve().parent.parent
CARPETA = RAIZ / ".github" / "workflows"
FLUJOS = sorted([*CARPETA.glob("*.yml"), *CARPETA.glob("*.yaml")])
PRUEBAS = CARPETA / "pruebas.yml"

# La versión mayor de las acciones oficiales cuando se endureció el CI (2026-11-25:
# actions/checkout v7 de junio de 2026, actions/setup-python v7 de julio de 2026).
# Una mayor más nueva vale; una más vieja, no (corre en un Node que GitHub retira).
MAYOR_MINIMA = {"actions/checkout": 7, "actions/setup-python": 7}
# Lo único que un trabajo puede pedir con escritura: publicar en GitHub Pages.
ESCRITURA_ADMITIDA = {"pages", "id-token"}
SISTEMAS = {"ubuntu-latest", "macos-latest", "windows-latest"}

ACCION_FIJADA = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v(?P<mayor>\d+)(\.\d+){0,2}|[0-9a-f]{40})$")

# .github/workflows/pruebas.yml de la versión 1.0.0 (commit 4ee41d2), tal cual.
FLUJO_1_0_0 = """\
name: pruebas
on:
  push:
  pull_request:
  schedule:
    - cron: "17 6 * * 1"
  workflow_dispatch:
jobs:
  pruebas:
    name: ${{ matrix.os }}
    runs-on: ${{ matrix.os }}
    strategy:
      fail-fast: false
      matrix:
        os: [ubuntu-latest, macos-latest, windows-latest]
    timeout-minutes: 45
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: make test (Linux y macOS)
        if: runner.os != 'Windows'
        env:
          CHROMIUM: ${{ runner.os == 'Linux' && '/usr/bin/google-chrome' || '' }}
        run: make test PYTHON=python
      - name: py tareas.py test (Windows, sin make)
        if: runner.os == 'Windows'
        run: python tareas.py test
"""


def cargar(texto: str) -> dict[str, Any]:
    flujo = yaml.safe_load(texto)
    assert isinstance(flujo, dict) and isinstance(flujo.get("jobs"), dict), "no parece un flujo de GitHub Actions"
    return flujo


def disparadores(flujo: dict[str, Any]) -> dict[str, Any]:
    """La sección ``on:`` (PyYAML sigue YAML 1.1 y lee la clave ``on`` como ``True``)."""
    on = flujo.get("on", flujo.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on or {}


def pasos(flujo: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(nombre, paso) for nombre, trabajo in flujo["jobs"].items() for paso in trabajo.get("steps", [])]


def problemas_de_permisos(flujo: dict[str, Any]) -> list[str]:
    problemas = []
    arriba = flujo.get("permissions")
    if not isinstance(arriba, dict):
        problemas.append(f"arriba, permissions: {arriba!r} (tiene que ser un mapa con contents: read)")
    else:
        if arriba.get("contents") != "read":
            problemas.append(f"arriba, contents: {arriba.get('contents')!r} en lugar de 'read'")
        problemas += [f"arriba, {clave}: write" for clave, valor in arriba.items() if valor == "write"]
    for nombre, trabajo in flujo["jobs"].items():
        propios = trabajo.get("permissions")
        if propios is None:
            continue
        if not isinstance(propios, dict):
            problemas.append(f"{nombre}: permissions: {propios!r} (como write-all: pide solo lo que necesita)")
            continue
        problemas += [
            f"{nombre}: {clave}: write (solo se admite {sorted(ESCRITURA_ADMITIDA)})"
            for clave, valor in propios.items()
            if valor == "write" and clave not in ESCRITURA_ADMITIDA
        ]
    return problemas


def problemas_de_checkout(flujo: dict[str, Any]) -> list[str]:
    return [
        f"{nombre}: {paso['uses']} sin persist-credentials: false"
        for nombre, paso in pasos(flujo)
        if str(paso.get("uses", "")).startswith("actions/checkout@")
        and str((paso.get("with") or {}).get("persist-credentials")).lower() != "false"
    ]


def problemas_de_acciones(flujo: dict[str, Any]) -> list[str]:
    usos = [(nombre, str(paso["uses"])) for nombre, paso in pasos(flujo) if "uses" in paso]
    usos += [(nombre, str(trabajo["uses"])) for nombre, trabajo in flujo["jobs"].items() if "uses" in trabajo]
    problemas = []
    for nombre, uso in usos:
        if uso.startswith("./"):
            continue  # una acción de este mismo repositorio: va con su commit
        fijada = ACCION_FIJADA.match(uso)
        if fijada is None:
            problemas.append(f"{nombre}: {uso} no está fijada a una versión mayor (@vN) ni a un commit")
            continue
        accion = uso.split("@", 1)[0]
        mayor = fijada.group("mayor")
        if mayor is not None and int(mayor) < MAYOR_MINIMA.get(accion, 0):
            problemas.append(f"{nombre}: {uso} es anterior a la versión mayor actual (v{MAYOR_MINIMA[accion]})")
    return problemas


def problemas_de_tiempo(flujo: dict[str, Any]) -> list[str]:
    return [
        f"{nombre}: sin timeout-minutes"
        for nombre, trabajo in flujo["jobs"].items()
        if "uses" not in trabajo  # un flujo reutilizable lleva sus propios tiempos
        and not (isinstance(trabajo.get("timeout-minutes"), int) and trabajo["timeout-minutes"] > 0)
    ]


REVISIONES = {
    "permisos": problemas_de_permisos,
    "checkout": problemas_de_checkout,
    "acciones": problemas_de_acciones,
    "tiempo": problemas_de_tiempo,
}


# --- Lo que el curso admite y lo que el flujo de pruebas tiene que cubrir -------------------


def pythons_admitidos() -> tuple[str, str]:
    """El mínimo (``requires-python``) y el máximo (clasificadores) de ``pyproject.toml``."""
    proyecto = tomllib.loads((RAIZ / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    minimo = re.fullmatch(r">=\s*(3\.\d+)", proyecto["requires-python"].strip())
    assert minimo, proyecto["requires-python"]
    versiones = [
        tuple(map(int, c.rsplit(" :: ", 1)[1].split(".")))
        for c in proyecto.get("classifiers", [])
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert versiones, "pyproject.toml no dice con qué Python 3.X funciona (clasificadores)"
    return minimo.group(1), "%d.%d" % max(versiones)


def problemas_de_cobertura(flujo: dict[str, Any]) -> list[str]:
    problemas = []
    on = disparadores(flujo)
    faltan = [d for d in ("push", "pull_request", "schedule", "workflow_dispatch") if d not in on]
    if faltan:
        problemas.append(f"no se ejecuta con {faltan}")
    minimo, maximo = pythons_admitidos()
    matrices = [(t.get("strategy") or {}).get("matrix") or {} for t in flujo["jobs"].values()]
    completa = [
        m for m in matrices
        if SISTEMAS <= set(m.get("os", [])) and {minimo, maximo} <= {str(v) for v in m.get("python", [])}
    ]
    if not completa:
        problemas.append(f"ningún trabajo cubre Python {minimo} y {maximo} en {sorted(SISTEMAS)}")
    return problemas


def problemas_de_la_pasada_semanal(flujo: dict[str, Any]) -> list[str]:
    """Un trabajo que solo corre cada semana (o a mano) y prueba con psycopg y psycopg-pool nuevos."""
    on = disparadores(flujo)
    if not any(isinstance(p, dict) and p.get("cron") for p in (on.get("schedule") or [])):
        return ["sin schedule: cron"]
    for trabajo in flujo["jobs"].values():
        if "schedule" not in str(trabajo.get("if", "")):
            continue
        ordenes = "\n".join(str(p.get("run", "")) for p in trabajo.get("steps", []))
        sube = [
            linea for linea in ordenes.splitlines()
            if re.search(r"pip install .*(--upgrade|-U)\b", linea)
            and re.search(r"\bpsycopg(\[binary\])?\"?\s", linea + " ") and "psycopg-pool" in linea
        ]
        muestra = "psycopg.__version__" in ordenes and "psycopg_pool.__version__" in ordenes
        prueba = re.search(r"pytest\b.*\stests\b", ordenes.replace("\n", " ")) and "notebooks" not in ordenes
        if sube and muestra and prueba:
            return []
    return ["ningún trabajo de schedule sube psycopg y psycopg-pool, imprime sus versiones y pasa tests/ (sin notebooks/)"]


# --- Las pruebas -----------------------------------------------------------------------------


def test_hay_flujos_y_el_de_pruebas_esta_entre_ellos() -> None:
    assert PRUEBAS in FLUJOS
    assert not sorted(p.name for p in CARPETA.iterdir() if p.is_file() and p not in FLUJOS), \
        "hay archivos en .github/workflows que no son .yml/.yaml: GitHub no los ejecuta"


@pytest.mark.parametrize("revision", REVISIONES, ids=str)
@pytest.mark.parametrize("ruta", FLUJOS, ids=lambda r: r.name)
def test_cada_flujo_esta_endurecido(ruta: Path, revision: str) -> None:
    problemas = REVISIONES[revision](cargar(ruta.read_text(encoding="utf-8")))
    assert problemas == [], f"{ruta.name}: {problemas}"


def test_el_flujo_de_pruebas_cubre_el_python_minimo_y_el_maximo_en_los_tres_sistemas() -> None:
    minimo, maximo = pythons_admitidos()
    assert (minimo, maximo) == ("3.11", "3.13")  # lo que dicen el README y .ci/run (pasada 6)
    assert problemas_de_cobertura(cargar(PRUEBAS.read_text(encoding="utf-8"))) == []


def test_el_flujo_de_pruebas_prueba_cada_semana_con_psycopg_y_psycopg_pool_nuevos() -> None:
    assert problemas_de_la_pasada_semanal(cargar(PRUEBAS.read_text(encoding="utf-8"))) == []


# Todas menos la del tiempo máximo: ese flujo ya lo tenía (la prueba de abajo la cubre).
@pytest.mark.parametrize("revision", ["permisos", "checkout", "acciones", "cobertura", "semanal"])
def test_la_revision_encuentra_los_defectos_del_flujo_de_la_version_1_0_0(revision: str) -> None:
    todas = {**REVISIONES, "cobertura": problemas_de_cobertura, "semanal": problemas_de_la_pasada_semanal}
    assert todas[revision](cargar(FLUJO_1_0_0)) != []


@pytest.mark.parametrize(
    ("cambio", "revision"),
    [
        ("permissions: write-all", "permisos"),
        ("permissions:\n  contents: write", "permisos"),
        ("permissions:\n  contents: read\n  packages: write", "permisos"),
        ("uses: actions/checkout@main", "acciones"),
        ("uses: actions/setup-python@v6", "acciones"),
        ("uses: alguien/accion", "acciones"),
        ("persist-credentials: true", "checkout"),
        ("timeout-minutes: 0", "tiempo"),
    ],
)
def test_la_revision_distingue_cada_defecto(cambio: str, revision: str) -> None:
    """Un flujo correcto pasa; con un solo defecto, la revisión que le toca lo encuentra."""
    correcto = {
        "on": {"push": None},
        "permissions": {"contents": "read"},
        "jobs": {
            "publicar": {
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 10,
                "permissions": {"pages": "write", "id-token": "write"},
                "steps": [
                    {"uses": "actions/checkout@v7", "with": {"persist-credentials": False}},
                    {"uses": "actions/setup-python@" + "0" * 40},
                    {"uses": "actions/deploy-pages@v5"},
                    {"uses": "./.github/acciones/local"},
                ],
            }
        },
    }
    assert all(revisar(correcto) == [] for revisar in REVISIONES.values())
    clave, _, valor = cambio.partition(":")
    defectuoso = yaml.safe_load(yaml.safe_dump(correcto))
    trabajo = defectuoso["jobs"]["publicar"]
    if clave == "permissions":
        defectuoso["permissions"] = yaml.safe_load(valor) if "\n" in valor else valor.strip()
    elif clave == "uses":
        trabajo["steps"].append({"uses": valor.strip()})
    elif clave == "persist-credentials":
        trabajo["steps"][0]["with"]["persist-credentials"] = True
    else:
        trabajo["timeout-minutes"] = 0
    assert REVISIONES[revision](defectuoso) != []
