"""El logger del curso: formato, salida estándar, sin tocar a otros ni escribir archivos."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from capa_datos_persona import Conexion
from capa_datos_persona.logger_base import FORMATO, log

RAIZ = Path(__file__).resolve().parent.parent
LINEA = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: DEBUG \[test_logger\.py:\d+\] hola Peña$", re.M)


def test_formato_del_curso_y_salida_estandar(capsys: pytest.CaptureFixture[str]) -> None:
    log.debug("hola Peña")
    salida = capsys.readouterr()
    assert LINEA.search(salida.out), salida.out
    assert salida.err == ""
    assert FORMATO == "%(asctime)s: %(levelname)s [%(filename)s:%(lineno)s] %(message)s"
    assert log.level == logging.DEBUG and log.propagate is False


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


def test_no_escribe_archivos_de_registro_en_el_repositorio() -> None:
    assert not list(RAIZ.glob("*.log")) and not list((RAIZ / "capa_datos_persona").glob("*.log"))
