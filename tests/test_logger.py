"""El logger del curso: formato, salida estándar, sin tocar a otros ni escribir archivos."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from capa_datos_persona import Conexion
from capa_datos_persona.logger_base import log

RAIZ = Path(__file__).resolve().parent.parent
LINEA = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: DEBUG \[test_logger\.py:\d+\] hola Peña$", re.M)


def test_formato_del_curso_y_salida_estandar(capsys: pytest.CaptureFixture[str]) -> None:
    log.debug("hola Peña")
    salida = capsys.readouterr()
    assert LINEA.search(salida.out), salida.out
    assert salida.err == ""


class _Recolector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.registros: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.registros.append(record)


def test_no_llega_al_registro_raiz(capsys: pytest.CaptureFixture[str]) -> None:
    """Las líneas del curso no se repiten en el registro raíz (el de la aplicación que nos importe)."""
    raiz, recolector = logging.getLogger(), _Recolector()
    raiz.addHandler(recolector)
    try:
        log.debug("solo por la salida estándar")
        log.warning("tampoco los avisos")
    finally:
        raiz.removeHandler(recolector)
    assert recolector.registros == []
    assert capsys.readouterr().out.count("\n") == 2  # por la salida estándar sí salieron


def test_no_enciende_el_registro_de_otros() -> None:
    assert logging.getLogger().handlers == [] or all(
        type(h).__module__.startswith("_pytest") for h in logging.getLogger().handlers
    )
    assert logging.getLogger("psycopg.pool").level == logging.NOTSET
    assert not [h for h in logging.getLogger("psycopg").handlers if type(h).__module__.startswith("capa_datos")]


def test_los_avisos_de_psycopg_pool_salen_por_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    conexion = Conexion.obtener_conexion_manual()
    conexion.execute("SELECT 1")  # deja una transacción abierta
    Conexion.liberar_conexion(conexion)
    salida = capsys.readouterr()
    assert "WARNING" in salida.out and "rolling back returned connection" in salida.out
    assert salida.err == ""


def _registrar_en_otro_proceso(carpeta: Path, **entorno: str) -> None:
    """Importa el paquete y escribe una línea en un proceso nuevo, con ``carpeta`` como directorio actual."""
    codigo = "from capa_datos_persona.logger_base import log; log.debug('línea de prueba')"
    variables = {k: v for k, v in os.environ.items() if k != "CAPA_DATOS_LOG_ARCHIVO"}
    variables["PYTHONPATH"] = os.pathsep.join(filter(None, [str(RAIZ), os.environ.get("PYTHONPATH")]))
    resultado = subprocess.run(
        [sys.executable, "-c", codigo], cwd=carpeta, capture_output=True, text=True, timeout=60,
        env={**variables, **entorno},
    )
    assert resultado.returncode == 0, resultado.stderr
    assert "DEBUG [<string>:1] línea de prueba" in resultado.stdout


def test_no_escribe_archivos_de_registro_si_no_se_pide(tmp_path: Path) -> None:
    _registrar_en_otro_proceso(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not list(RAIZ.glob("*.log")) and not list((RAIZ / "capa_datos_persona").glob("*.log"))


def test_capa_datos_log_archivo_escribe_el_registro_donde_se_pide(tmp_path: Path) -> None:
    archivo = tmp_path / "registro" / "curso.log"
    archivo.parent.mkdir()
    _registrar_en_otro_proceso(tmp_path, CAPA_DATOS_LOG_ARCHIVO=str(archivo))
    assert list(tmp_path.rglob("*")) == [archivo.parent, archivo]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d [\d:,]+: DEBUG \[<string>:1\] línea de prueba\n", archivo.read_text("utf-8"))
