"""Qué instala tareas.py y cómo: lo del alumno frente a lo de las pruebas, uv o pip, JupyterLab en español.

* ``make lab`` instala requirements.txt (el curso, JupyterLab y su paquete de idioma);
  ``make test`` instala requirements-pruebas.txt, que es eso más pytest, nbval,
  playwright y Jupyter Book. Cada conjunto tiene su sello en .venv.
* Se instala con uv si se puede y, si no, con pip: la alternativa se ejercita de verdad,
  sin red, con un índice de paquetes vacío (uv no se puede instalar) y un paquete local.
* Los ajustes de JupyterLab (español, sin noticias) salen de binder/overrides.json y
  sus claves existen en el JupyterLab instalado.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import venv
import zipfile
from pathlib import Path

import pytest
from _comun import cargar_modulo

RAIZ = Path(__file__).resolve().parent.parent
TAREAS = RAIZ / "tareas.py"
SOLO_PRUEBAS = {"pytest", "nbval", "playwright", "jupyter-book"}


tareas = cargar_modulo(TAREAS, "tareas_instalacion")


def _normal(nombre: str) -> str:
    return re.sub(r"[-_.]+", "-", nombre).lower()


def _pines(requisitos: Path) -> dict[str, str]:
    """{paquete: versión} de un archivo de requisitos y de los que incluye con -r."""
    pines: dict[str, str] = {}
    for archivo in tareas.archivos_requisitos(requisitos):
        for linea in archivo.read_text(encoding="utf-8").splitlines():
            linea = linea.split("#", 1)[0].strip()
            if not linea or linea.startswith("-"):
                continue
            nombre, _, version = linea.partition("==")
            assert version, f"{archivo.name}: «{linea}» no fija una versión exacta"
            pines[_normal(nombre.split("[")[0])] = version
    return pines


# --- Los dos conjuntos ------------------------------------------------------------------


def test_lo_del_alumno_no_lleva_herramientas_de_prueba_y_lo_de_pruebas_si() -> None:
    alumno = _pines(RAIZ / tareas.REQUISITOS_LAB)
    pruebas = _pines(RAIZ / tareas.REQUISITOS_PRUEBAS)
    assert not SOLO_PRUEBAS & alumno.keys(), sorted(SOLO_PRUEBAS & alumno.keys())
    assert SOLO_PRUEBAS <= pruebas.keys(), sorted(SOLO_PRUEBAS - pruebas.keys())
    # Las pruebas corren sobre lo mismo que tiene el alumno, con las mismas versiones.
    assert {n: pruebas[n] for n in alumno} == alumno
    assert {"jupyterlab", "jupyterlab-language-pack-es-es", "ipykernel"} <= alumno.keys()


def test_binder_instala_solo_lo_del_alumno() -> None:
    binder = RAIZ / "binder" / "requirements.txt"
    assert tareas.archivos_requisitos(binder)[1:] == [binder.parent / "../requirements.txt"]
    assert _pines(binder) == _pines(RAIZ / tareas.REQUISITOS_LAB)


@pytest.mark.parametrize(
    ("orden", "requisitos"),
    [("lab", "requirements.txt"), ("preparar", "requirements.txt"), ("estado", "requirements.txt"),
     ("test", "requirements-pruebas.txt"), ("cuadernos", "requirements-pruebas.txt")],
)
def test_cada_orden_prepara_su_conjunto(orden: str, requisitos: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pedidos: list[str] = []
    monkeypatch.setattr(tareas, "preparar", lambda r: pedidos.append(r) or Path("python"))
    monkeypatch.setattr(tareas, "lab", lambda python, resto: 0)
    monkeypatch.setattr(tareas, "ejecutar", lambda *a, **k: 0)
    assert tareas.main([orden]) == 0
    assert pedidos == [requisitos]


# --- Sellos: la segunda vez no se instala nada; si cambia un archivo, sí ------------------


@pytest.fixture
def repo_falso(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[list[str]]]:
    """Una copia de los archivos de requisitos y un .venv con un python «que existe»; instalar solo se anota."""
    raiz, entorno = tmp_path / "repo", tmp_path / "venv"
    (raiz / "binder").mkdir(parents=True)
    for nombre in ("requirements.txt", "requirements-pruebas.txt", "requirements-libro.txt", "pyproject.toml",
                   "binder/overrides.json"):
        shutil.copy(RAIZ / nombre, raiz / nombre)
    python = entorno / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    python.parent.mkdir(parents=True)
    python.write_text("")
    monkeypatch.setattr(tareas, "RAIZ", raiz)
    monkeypatch.setattr(tareas, "VENV", entorno)
    monkeypatch.setattr(tareas, "AJUSTES_JUPYTERLAB", raiz / "binder" / "overrides.json")
    instalados: list[list[str]] = []
    monkeypatch.setattr(tareas.Instalador, "instalar", lambda self, argumentos: instalados.append(argumentos))
    return raiz, instalados


def _requisitos_instalados(instalados: list[list[str]]) -> list[str]:
    return [Path(a[a.index("-r") + 1]).name for a in instalados if "-r" in a]


def test_un_sello_por_conjunto_y_cambiar_un_archivo_reinstala(repo_falso: tuple[Path, list[list[str]]]) -> None:
    raiz, instalados = repo_falso
    tareas.preparar(tareas.REQUISITOS_LAB)
    assert _requisitos_instalados(instalados) == ["requirements.txt"]
    assert ["--no-deps", "-e", str(raiz)] in instalados  # y el paquete del curso, editable
    tareas.preparar(tareas.REQUISITOS_LAB)
    assert len(_requisitos_instalados(instalados)) == 1  # segunda vez: nada

    tareas.preparar(tareas.REQUISITOS_PRUEBAS)  # lo de pruebas no estaba: se instala
    assert _requisitos_instalados(instalados) == ["requirements.txt", "requirements-pruebas.txt"]
    tareas.preparar(tareas.REQUISITOS_PRUEBAS)
    tareas.preparar(tareas.REQUISITOS_LAB)  # lo de pruebas incluye lo del alumno: al día
    assert len(_requisitos_instalados(instalados)) == 2

    # Cambia un archivo incluido solo por el de pruebas: reinstala pruebas, no lo del alumno.
    libro = raiz / "requirements-libro.txt"
    libro.write_text(libro.read_text() + "# cambio\n")
    tareas.preparar(tareas.REQUISITOS_LAB)
    tareas.preparar(tareas.REQUISITOS_PRUEBAS)
    assert _requisitos_instalados(instalados)[2:] == ["requirements-pruebas.txt"]

    # Cambia requirements.txt: los dos conjuntos quedan viejos.
    requisitos = raiz / "requirements.txt"
    requisitos.write_text(requisitos.read_text() + "# cambio\n")
    tareas.preparar(tareas.REQUISITOS_LAB)
    assert _requisitos_instalados(instalados)[3:] == ["requirements.txt"]
    tareas.preparar(tareas.REQUISITOS_PRUEBAS)
    assert _requisitos_instalados(instalados)[4:] == ["requirements-pruebas.txt"]


def test_preparar_deja_jupyterlab_en_espanol_en_el_entorno(repo_falso: tuple[Path, list[list[str]]]) -> None:
    raiz, _ = repo_falso
    tareas.preparar(tareas.REQUISITOS_LAB)
    ajustes = tareas.VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert ajustes.read_bytes() == (raiz / "binder" / "overrides.json").read_bytes()
    # Si alguien lo borra, la siguiente orden lo vuelve a poner (sin reinstalar nada).
    ajustes.unlink()
    tareas.preparar(tareas.REQUISITOS_LAB)
    assert ajustes.exists()


# --- Los ajustes de JupyterLab -----------------------------------------------------------


def test_los_ajustes_eligen_espanol_y_apagan_las_noticias_con_claves_que_jupyterlab_conoce(tmp_path: Path) -> None:
    ajustes = json.loads((RAIZ / "binder" / "overrides.json").read_text(encoding="utf-8"))
    assert ajustes["@jupyterlab/translation-extension:plugin"]["locale"] == "es_ES"
    noticias = ajustes["@jupyterlab/apputils-extension:notification"]
    assert noticias["fetchNews"] == "false" and noticias["checkForUpdates"] is False
    # Las claves existen en los esquemas del JupyterLab instalado (un nombre mal escrito se ignoraría).
    jupyterlab_commands = pytest.importorskip("jupyterlab.commands")
    esquemas = Path(jupyterlab_commands.get_app_dir()) / "schemas"
    for complemento, valores in ajustes.items():
        paquete, nombre = complemento.split(":")
        esquema = json.loads((esquemas / paquete / f"{nombre}.json").read_text(encoding="utf-8"))
        assert set(valores) <= set(esquema["properties"]), complemento
    assert {"const": "false", "title": "Never"} in esquema["properties"]["fetchNews"]["oneOf"]
    # El paquete de idioma de ese locale está instalado.
    from jupyterlab_server.translation_utils import get_language_packs

    assert "es_ES" in get_language_packs()[0]
    # Y jupyterlab_server lee el archivo que escribe tareas.py donde lo busca.
    from jupyterlab_server.settings_utils import _get_overrides

    destino = tareas.escribir_ajustes_jupyterlab(tmp_path / "entorno")
    leidos, error = _get_overrides(str(destino.parent))
    assert not error and leidos == ajustes


# --- uv o pip ----------------------------------------------------------------------------


def test_con_uv_instala_con_uv_en_el_entorno(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    ordenes: list[list[str]] = []
    monkeypatch.setattr(tareas.Instalador, "_ejecutar", lambda self, orden: ordenes.append(orden) or 0)
    for windows in (False, True):
        monkeypatch.setattr(tareas, "ES_WINDOWS", windows)
        ordenes.clear()
        instalador = tareas.Instalador(Path("/entorno/python"))
        instalador.instalar(["-r", "requirements.txt"])
        instalador.instalar(["--no-deps", "-e", "."])
        assert ordenes[0][1:] == ["-m", "pip", "--disable-pip-version-check", "install", "--quiet", tareas.UV]
        for orden, ultimos in zip(ordenes[1:], (["-r", "requirements.txt"], ["--no-deps", "-e", "."])):
            assert orden[:5] == ["/entorno/python", "-m", "uv", "pip", "install"]
            assert "--system-certs" in orden  # los certificados del sistema, como pip (proxies)
            assert orden[orden.index("--python") + 1] == "/entorno/python" and orden[-len(ultimos):] == ultimos
            assert ("--link-mode" in orden) == windows  # copiar solo en Windows (OneDrive)
        assert len(ordenes) == 3  # uv se instala una sola vez
    assert "pip" not in capsys.readouterr().out


def test_si_uv_falla_se_sigue_con_pip(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    ordenes: list[list[str]] = []
    monkeypatch.setattr(tareas.Instalador, "_ejecutar",
                        lambda self, orden: ordenes.append(orden) or (1 if orden[2] == "uv" else 0))
    instalador = tareas.Instalador(Path("python"))
    instalador.instalar(["-r", "requirements.txt"])
    instalador.instalar(["--no-deps", "-e", "."])
    herramientas = [orden[2] for orden in ordenes]
    assert herramientas == ["pip", "uv", "pip", "pip"]  # instalar uv, uv falla, pip; y luego ya solo pip
    assert ordenes[2][-2:] == ["-r", "requirements.txt"] and ordenes[3][-3:] == ["--no-deps", "-e", "."]
    salida = capsys.readouterr().out
    assert salida.count("No se pudo usar uv") == 1 and "pip" in salida


def _rueda(carpeta: Path, nombre: str, version: str) -> Path:
    """Una rueda mínima de verdad (un módulo que dice su versión), hecha a mano: sin red ni setuptools."""
    archivos = {
        f"{nombre}.py": f"VERSION = {version!r}\n",
        f"{nombre}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {nombre}\nVersion: {version}\n",
        f"{nombre}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: a-mano\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    registro = [
        f"{ruta},sha256={base64.urlsafe_b64encode(hashlib.sha256(texto.encode()).digest()).rstrip(b'=').decode()},"
        f"{len(texto.encode())}"
        for ruta, texto in archivos.items()
    ]
    archivos[f"{nombre}-{version}.dist-info/RECORD"] = "\n".join([*registro, f"{nombre}-{version}.dist-info/RECORD,,"]) + "\n"
    rueda = carpeta / f"{nombre}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(rueda, "w") as z:
        for ruta, texto in archivos.items():
            z.writestr(ruta, texto)
    return rueda


@pytest.mark.slow  # crea un entorno virtual con pip (unos segundos)
def test_sin_uv_instala_con_pip_de_verdad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    # Sin red: pip solo ve una carpeta con una rueda local, así que `pip install uv` falla
    # (como sin uv para esta plataforma, o con un índice que no lo tiene) y la instalación
    # sigue con pip, que instala el paquete de esa carpeta.
    ruedas = tmp_path / "ruedas"
    ruedas.mkdir()
    _rueda(ruedas, "paquete_capa_prueba", "1.0")
    requisitos = tmp_path / "requisitos.txt"
    requisitos.write_text("paquete_capa_prueba==1.0\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(ruedas))
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    entorno = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(entorno)
    python = entorno / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    tareas.Instalador(python).instalar(["-r", str(requisitos)])

    assert capsys.readouterr().out.count("No se pudo usar uv") == 1
    comprobar = subprocess.run(
        [str(python), "-c", "import importlib.util, paquete_capa_prueba; "
                            "print(paquete_capa_prueba.VERSION, importlib.util.find_spec('uv') is None)"],
        capture_output=True, text=True, timeout=60,
    )
    assert comprobar.stdout.split() == ["1.0", "True"], comprobar.stderr


# --- Binder: el ensayo (herramientas/ensayo_binder.py) -------------------------------------


def _cargar_ensayo():
    return cargar_modulo(RAIZ / "herramientas" / "ensayo_binder.py", "ensayo_binder_instalacion")


def test_el_ensayo_de_binder_instala_aparte_solo_las_herramientas_de_prueba() -> None:
    herramientas = _cargar_ensayo().herramientas_de_prueba()
    nombres = {_normal(linea.split("==")[0]) for linea in herramientas}
    assert {"pytest", "nbval"} <= nombres
    assert not nombres & _pines(RAIZ / tareas.REQUISITOS_LAB).keys()  # nada de lo que ya trae Binder
    assert all("==" in linea and not linea.startswith("-") for linea in herramientas)


def test_el_ensayo_de_binder_ve_si_faltan_los_ajustes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("jupyterlab")
    ensayo = _cargar_ensayo()
    # JUPYTERLAB_DIR lleva a JupyterLab (y al ensayo) a otra carpeta de la aplicación.
    prefijo = tmp_path / "imagen"
    monkeypatch.setenv("JUPYTERLAB_DIR", str(prefijo / "share" / "jupyter" / "lab"))
    problemas = ensayo.comprobar_ajustes()
    assert problemas and "no hay" in problemas[0]
    tareas.escribir_ajustes_jupyterlab(prefijo)  # lo mismo que copia binder/postBuild
    assert ensayo.comprobar_ajustes() == []
