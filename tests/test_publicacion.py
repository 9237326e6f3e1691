"""Abierto y citable: licencias, cita e historial de cambios dicen lo mismo.

La versión vive en cuatro sitios (``pyproject.toml``, ``__version__``,
``CITATION.cff`` y la última entrada de ``CHANGELOG.md``) y es fácil subir uno y
olvidar otro: quien cite el curso o lea el historial vería otra versión que la
instalada. Las licencias, igual: el README, ``pyproject.toml`` y los archivos de
licencia tienen que contar la misma historia (código MIT, material CC BY 4.0).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

import capa_datos_persona

RAIZ = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((RAIZ / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Una versión publicada: «## [X.Y.Z] - AAAA-MM-DD». Lo que aún no tiene versión va en «## [Sin publicar]».
ENTRADA = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<fecha>\d{4}-\d{2}-\d{2})$", re.MULTILINE)


def entradas_del_historial() -> list[tuple[str, str]]:
    texto = (RAIZ / "CHANGELOG.md").read_text(encoding="utf-8")
    titulos = re.findall(r"^## .*$", texto, re.MULTILINE)
    raros = [t for t in titulos if not ENTRADA.fullmatch(t) and t != "## [Sin publicar]"]
    assert not raros, f"títulos de versión que no siguen «## [X.Y.Z] - AAAA-MM-DD»: {raros}"
    return [(m["version"], m["fecha"]) for m in ENTRADA.finditer(texto)]


def cita() -> dict:
    return yaml.safe_load((RAIZ / "CITATION.cff").read_text(encoding="utf-8"))


def test_la_version_es_la_misma_en_pyproject_el_paquete_la_cita_y_el_historial() -> None:
    version, fecha = entradas_del_historial()[0]
    assert PYPROJECT["version"] == version
    assert capa_datos_persona.__version__ == version
    datos = cita()
    assert str(datos["version"]) == version
    assert str(datos["date-released"]) == fecha  # la fecha de la versión, como en el historial


def test_el_historial_va_de_la_version_mas_nueva_a_la_mas_vieja() -> None:
    entradas = entradas_del_historial()
    assert len(entradas) >= 2
    versiones = [tuple(map(int, v.split("."))) for v, _ in entradas]
    assert versiones == sorted(versiones, reverse=True) and len(set(versiones)) == len(versiones)
    fechas = [f for _, f in entradas]
    assert fechas == sorted(fechas, reverse=True)
    texto = (RAIZ / "CHANGELOG.md").read_text(encoding="utf-8")
    enlazadas = set(re.findall(r"^\[(\d+\.\d+\.\d+)\]: \S+$", texto, re.MULTILINE))
    assert enlazadas == {v for v, _ in entradas}, "cada versión con su enlace al final del historial"


def test_la_cita_es_cff_1_2_con_autores_repositorio_y_la_licencia_del_codigo() -> None:
    datos = cita()
    assert datos["cff-version"] == "1.2.0"
    assert datos["title"] and datos["message"] and datos["type"] == "software"
    assert datos["authors"] and all(a.get("name") or a.get("family-names") for a in datos["authors"])
    # En CFF una lista de licencias significa «una u otra»: solo la del código, como en pyproject.
    assert datos["license"] == PYPROJECT["license"] == "MIT"
    # La dirección del repositorio de pyproject.toml ([project.urls], la que usan README y Colab).
    assert datos["repository-code"] == PYPROJECT["urls"]["Repository"]


def test_la_cita_el_historial_y_las_licencias_apuntan_al_repositorio_de_pyproject() -> None:
    """Al publicar se cambia USUARIO en pyproject.toml: esta prueba dice qué más hay que cambiar."""
    repositorio = PYPROJECT["urls"]["Repository"]
    for archivo in ("CITATION.cff", "CHANGELOG.md", "LICENCIA-CONTENIDO.md"):
        texto = (RAIZ / archivo).read_text(encoding="utf-8")
        enlaces = set(re.findall(r"https://github\.com/[\w.-]+/capa_datos_persona", texto))
        assert enlaces == {repositorio}, f"{archivo}: {enlaces}"


def test_las_licencias_dicen_que_cubre_cada_una() -> None:
    assert PYPROJECT["license-files"] == ["LICENSE"]
    mit = (RAIZ / "LICENSE").read_text(encoding="utf-8")
    assert mit.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in mit
    contenido = (RAIZ / "LICENCIA-CONTENIDO.md").read_text(encoding="utf-8")
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in contenido  # el texto legal oficial
    for parte in ("notebooks/", "docs/", "capa_datos_persona/", "celdas de código", "LICENSE"):
        assert parte in contenido


def test_el_readme_enlaza_licencias_cita_historial_y_guia_de_contribucion() -> None:
    readme = (RAIZ / "README.md").read_text(encoding="utf-8")
    for archivo in ("LICENSE", "LICENCIA-CONTENIDO.md", "CITATION.cff", "CHANGELOG.md", "CONTRIBUTING.md"):
        assert (RAIZ / archivo).is_file()
        assert f"({archivo})" in readme, f"el README no enlaza {archivo}"
    assert "CC BY 4.0" in readme and "MIT" in readme
