"""Probar el servidor antes de crear el pool y explicar en español por qué falla.

Sin esta prueba, un servidor apagado o una contraseña equivocada dejarían al
pool reintentando en silencio hasta el ``TIMEOUT``, y el alumno vería un
``PoolTimeout`` que no dice la causa.

La causa se decide **sin leer el texto del error**, que llega en el idioma del
servidor (``lc_messages``) o del sistema del alumno. Al fallar una conexión,
libpq no da SQLSTATE, pero sí dice si el servidor pidió contraseña
(``needs_password``/``used_password``); y dos pruebas más distinguen el resto:
si el puerto o el socket aceptan conexiones (¿hay servidor?) y si la misma
cuenta entra en la base ``postgres`` (¿falla la base de datos o la cuenta?).
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .errores import ErrorConexionBD
from .servidor import Destino, enmascarar, ocultar_rutas

_SSL_EXIGIDO = {"require", "verify-ca", "verify-full"}


def ajustes_de_conexion(destino: Destino, aplicacion: str, espera: float) -> dict[str, Any]:
    """Los parámetros que el curso añade a cada conexión: ``application_name`` y ``connect_timeout``.

    Un ``connect_timeout`` que puso el usuario (en la URL o en ``PGCONNECT_TIMEOUT``)
    manda sobre el del curso, que es ``espera`` redondeado (libpq no acepta menos de 2 s).
    """
    ajustes: dict[str, Any] = {"application_name": aplicacion}
    if "connect_timeout" not in _leer_conninfo(destino) and not os.environ.get("PGCONNECT_TIMEOUT"):
        ajustes["connect_timeout"] = max(2, int(round(espera)))
    return ajustes


def probar_servidor(destino: Destino, ajustes: dict[str, Any]) -> None:
    """Abre y cierra una conexión directa; si falla, lanza :class:`ErrorConexionBD` con causa y remedio."""
    _comprobar_servicio(destino, _leer_conninfo(destino))
    try:
        with psycopg.connect(destino.conninfo, autocommit=True, **ajustes):
            pass
    except psycopg.Error as exc:
        raise ErrorConexionBD(explicar_fallo(destino, exc, ajustes)) from None


def _leer_conninfo(destino: Destino) -> dict[str, Any]:
    try:
        return conninfo_to_dict(destino.conninfo)
    except psycopg.ProgrammingError as exc:
        # psycopg cita el trozo que no entiende, y puede ser parte de la contraseña: fuera.
        detalle = re.sub(r'"[^"]*"', "«…»", " ".join(str(exc).split()))
        raise ErrorConexionBD(
            f"La cadena de conexión de {destino.tipo} está mal escrita ({detalle}). Debe tener la forma "
            "postgresql://USUARIO:CONTRASEÑA@HOST:PUERTO/BASE (los caracteres especiales de la "
            "contraseña, como @ : / ?, se escriben codificados: %40 %3A %2F %3F)."
        ) from None


def _comprobar_servicio(destino: Destino, datos: dict[str, Any]) -> None:
    servicio = datos.get("service") or os.environ.get("PGSERVICE")
    if not servicio:
        return
    candidatos = [os.environ.get("PGSERVICEFILE"), str(Path.home() / ".pg_service.conf")]
    if os.environ.get("PGSYSCONFDIR"):
        candidatos.append(str(Path(os.environ["PGSYSCONFDIR"]) / "pg_service.conf"))
    if not any(c and Path(c).is_file() for c in candidatos):
        raise ErrorConexionBD(
            f"Pediste el servicio de libpq '{servicio}' ({destino.tipo}), pero no hay ningún archivo de "
            "servicios (PGSERVICEFILE, ~/.pg_service.conf o PGSYSCONFDIR/pg_service.conf). Crea ese "
            "archivo con una sección [" + str(servicio) + "], o quita PGSERVICE y usa DATABASE_URL."
        )


def explicar_fallo(destino: Destino, exc: psycopg.Error, ajustes: dict[str, Any] | None = None) -> str:
    """El mensaje en español de un fallo al conectar: dónde, por qué y qué hacer."""
    ajustes = ajustes or {}
    datos = conninfo_to_dict(destino.conninfo)
    donde = _donde(destino, exc, datos)
    detalle = ocultar_rutas(enmascarar(" ".join(str(exc).split()) or type(exc).__name__))
    conexion = getattr(exc, "pgconn", None)
    modo_ssl = str(datos.get("sslmode") or os.environ.get("PGSSLMODE") or "")
    if conexion is not None and conexion.needs_password:
        causa = "el servidor pide una contraseña y no se indicó ninguna"
        remedio = "Pon la contraseña en DATABASE_URL (postgresql://usuario:CONTRASEÑA@...) o en PGPASSWORD."
    elif modo_ssl in _SSL_EXIGIDO and "SSL" in str(exc):
        causa = f"pediste una conexión cifrada (sslmode={modo_ssl}) y no se pudo establecer"
        remedio = "Si tu servidor no tiene SSL, usa sslmode=prefer o quita sslmode; si lo tiene, revisa sus certificados."
    elif conexion is not None and (conexion.used_password or _hay_servidor(conexion)):
        if _entra_en_postgres(destino, datos, ajustes):
            causa = f"el servidor respondió, pero la base de datos '{datos.get('dbname', '')}' no existe o no puedes entrar en ella"
            remedio = "Crea la base de datos (por ejemplo `createdb test_db`) o corrige su nombre."
        else:
            causa = "el servidor respondió, pero rechazó el usuario o la contraseña"
            remedio = "Revisa el usuario y la contraseña de DATABASE_URL / PGUSER / PGPASSWORD."
    else:
        causa = "no hay un servidor escuchando ahí o no responde"
        remedio = (
            "Arranca tu servidor o corrige host y puerto en DATABASE_URL / PGHOST / PGPORT; "
            "o borra esas variables para usar el PostgreSQL embebido del curso."
        )
    return f"No se pudo conectar con PostgreSQL en {donde} ({destino.tipo}): {causa}. {remedio} Detalle: {detalle}"


def _donde(destino: Destino, exc: psycopg.Error, datos: dict[str, Any]) -> str:
    """El servidor que de verdad intentó libpq (no uno supuesto)."""
    conexion = getattr(exc, "pgconn", None)
    host = puerto = ""
    if conexion is not None:
        host = (conexion.host or b"").decode(errors="replace")
        puerto = (conexion.port or b"").decode(errors="replace")
    host = host or str(datos.get("host") or datos.get("hostaddr") or "")
    puerto = puerto or str(datos.get("port") or "")
    if not host:
        return "el servidor por defecto de libpq"
    if host.startswith("/") or (len(host) > 2 and host[1] == ":"):
        host = "el socket Unix " + ocultar_rutas(host)
    return f"{host}:{puerto}" if puerto else host


def _hay_servidor(conexion: Any) -> bool:
    """¿Acepta conexiones el puerto (o el socket) que intentó libpq?"""
    host = (conexion.host or b"").decode(errors="replace")
    puerto = int((conexion.port or b"5432").decode() or 5432)
    try:
        if host.startswith("/"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(os.path.join(host, f".s.PGSQL.{puerto}"))
        else:
            socket.create_connection((host or "localhost", puerto), timeout=2).close()
    except OSError:
        return False
    return True


def _entra_en_postgres(destino: Destino, datos: dict[str, Any], ajustes: dict[str, Any]) -> bool:
    """¿Entra la misma cuenta en la base ``postgres``? Si entra, lo que falla es la base de datos pedida."""
    if (datos.get("dbname") or os.environ.get("PGDATABASE")) == "postgres":
        return False
    try:
        with psycopg.connect(make_conninfo(destino.conninfo, dbname="postgres"), autocommit=True, **ajustes):
            return True
    except psycopg.Error:
        return False
