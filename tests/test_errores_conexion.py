"""Cada fallo al conectar, explicado en español, sin contraseñas y sin depender del idioma del servidor."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import traceback
from pathlib import Path

import psycopg
import pytest
from _comun import puerto_libre
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from capa_datos_persona import Conexion, ErrorConexionBD, ErrorDatosPersona, Persona, PersonaDAO, servidor
from capa_datos_persona.servidor import Destino

CLAVE = "p@ss w'or\"d"
"""Una contraseña con @ sin codificar, un espacio y comillas."""


def _url_embebida(**cambios: str) -> str:
    datos = conninfo_to_dict(servidor.usar_servidor().conninfo)
    datos.update(cambios)
    return make_conninfo(**datos)


def _sin_variables_pg(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("DATABASE_URL", *servidor.VARIABLES_LIBPQ):
        monkeypatch.delenv(variable, raising=False)


# --- Secretos ---------------------------------------------------------------------------


def test_destino_no_muestra_la_contrasena_ni_en_repr() -> None:
    url = f"postgresql://ana:{CLAVE}@db.example:5432/test_db"
    destino = Destino(url, "DATABASE_URL")
    for texto in (repr(destino), str(destino), destino.descripcion(), repr([destino])):
        assert "w'or" not in texto and "p@ss" not in texto, texto
    assert destino.descripcion() == "postgresql://ana:****@db.example:5432/test_db"


def test_url_mal_escrita_sin_trozos_de_la_contrasena(monkeypatch: pytest.MonkeyPatch) -> None:
    _sin_variables_pg(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://ana:{CLAVE}@127.0.0.1:{puerto_libre()}/x")
    with pytest.raises(ErrorConexionBD, match="mal escrita") as info:
        Conexion.obtener_pool()
    trazas = "".join(traceback.TracebackException.from_exception(info.value, capture_locals=True).format())
    for trozo in ("w'or", "ss w", "p@ss"):
        assert trozo not in str(info.value) and trozo not in trazas


def test_traza_con_variables_locales_sin_contrasena(monkeypatch: pytest.MonkeyPatch) -> None:
    _sin_variables_pg(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://ana:s3creto-local@127.0.0.1:{puerto_libre()}/x")
    with pytest.raises(ErrorConexionBD) as info:
        Conexion.obtener_pool()
    trazas = "".join(traceback.TracebackException.from_exception(info.value, capture_locals=True).format())
    assert "s3creto-local" not in trazas


def test_estado_no_muestra_la_contrasena(monkeypatch: pytest.MonkeyPatch) -> None:
    entorno = {**os.environ, "DATABASE_URL": f"postgresql://ana:{CLAVE}@127.0.0.1:{puerto_libre()}/x"}
    resultado = subprocess.run([sys.executable, "-m", "capa_datos_persona", "estado"], capture_output=True,
                               text=True, env=entorno, timeout=60)
    assert resultado.returncode == 1
    for trozo in ("w'or", "p@ss"):
        assert trozo not in resultado.stdout + resultado.stderr
    assert "Traceback" not in resultado.stderr


# --- Causas, sin leer el texto del servidor ----------------------------------------------------


def test_sin_servidor_dice_donde_y_que_hacer(monkeypatch: pytest.MonkeyPatch) -> None:
    _sin_variables_pg(monkeypatch)
    puerto = puerto_libre()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://ana:x@127.0.0.1:{puerto}/x")
    with pytest.raises(ErrorConexionBD, match=f"127.0.0.1:{puerto}.*no hay un servidor escuchando"):
        Conexion.obtener_pool()


def test_servicio_sin_archivo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _sin_variables_pg(monkeypatch)
    monkeypatch.setenv("PGSERVICE", "curso")
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "no_existe.conf"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("PGSYSCONFDIR", raising=False)
    with pytest.raises(ErrorConexionBD, match="servicio de libpq 'curso'.*no hay ningún archivo de servicios"):
        Conexion.obtener_pool()


@pytest.mark.skipif(not servidor.elegir_servidor().embebido, reason="usa el servidor embebido (auth=trust)")
def test_base_de_datos_que_no_existe(monkeypatch: pytest.MonkeyPatch) -> None:
    url = _url_embebida(dbname="no_existe")
    _sin_variables_pg(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ErrorConexionBD, match="la base de datos 'no_existe' no existe"):
        Conexion.obtener_pool()


@pytest.mark.skipif(not servidor.elegir_servidor().embebido, reason="usa el servidor embebido (auth=trust)")
def test_usuario_que_no_existe(monkeypatch: pytest.MonkeyPatch) -> None:
    url = _url_embebida(user="nadie")
    _sin_variables_pg(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ErrorConexionBD, match="rechazó el usuario o la contraseña"):
        Conexion.obtener_pool()


def test_contrasena_incorrecta_con_el_servidor_en_su_idioma(monkeypatch: pytest.MonkeyPatch) -> None:
    """En CI el servidor externo responde en español (``lc_messages``): la causa sale igual."""
    actual = servidor.elegir_servidor()
    datos = conninfo_to_dict(actual.conninfo)
    if actual.embebido or not datos.get("password"):
        pytest.skip("hace falta un servidor propio con contraseña (la pasada de CI con servidor externo)")
    datos["password"] = "clave-equivocada-123"
    monkeypatch.setenv("DATABASE_URL", make_conninfo(**datos))
    with pytest.raises(ErrorConexionBD, match="rechazó el usuario o la contraseña") as info:
        Conexion.obtener_pool()
    assert "clave-equivocada-123" not in str(info.value)


def test_connect_timeout_del_usuario_se_respeta(monkeypatch: pytest.MonkeyPatch) -> None:
    actual = servidor.usar_servidor()
    url = make_conninfo(actual.conninfo, connect_timeout="9") if actual.conninfo else "connect_timeout=9"
    monkeypatch.setenv("DATABASE_URL", url)
    with Conexion.obtener_conexion() as conexion:
        assert conexion.info.get_parameters()["connect_timeout"] == "9"


# --- La tabla persona aparece sola; el texto imposible se rechaza en español --------------------


def test_la_tabla_se_crea_sola_aunque_la_pidan_varios_a_la_vez(directa: psycopg.Connection) -> None:
    directa.execute("DROP TABLE IF EXISTS persona")
    resultados: list[object] = []

    def leer() -> None:
        try:
            resultados.append(len(PersonaDAO.seleccionar()))
        except Exception as exc:  # se anota para el assert
            resultados.append(exc)

    hilos = [threading.Thread(target=leer) for _ in range(4)]
    for hilo in hilos:
        hilo.start()
    for hilo in hilos:
        hilo.join()
    assert resultados == [3, 3, 3, 3]


def test_insertar_sin_tabla_la_crea(directa: psycopg.Connection) -> None:
    directa.execute("DROP TABLE IF EXISTS persona")
    assert PersonaDAO.insertar(Persona(nombre="Ana", apellido="Ruiz", email="ana@mail.com")) == 1
    assert [p.nombre for p in PersonaDAO.seleccionar()][-1] == "Ana"


def test_texto_con_sustituto_suelto_se_rechaza(tabla: None, filas) -> None:  # type: ignore[no-untyped-def]
    antes = filas()
    with pytest.raises(ErrorDatosPersona, match="no es texto válido"):
        PersonaDAO.insertar(Persona(nombre="Jos\udce9", apellido="Peña", email="jose@mail.com"))
    with pytest.raises(ErrorDatosPersona, match="no es texto válido"):
        PersonaDAO.actualizar(Persona(1, "Juan", "P\ud800rez", "j@mail.com"))
    assert filas() == antes
