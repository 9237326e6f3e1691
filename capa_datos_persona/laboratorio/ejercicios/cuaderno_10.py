"""Ejercicios del cuaderno 10 (detector de fugas)."""

from __future__ import annotations

from typing import Any

from . import registrar

registrar(
    "10.1",
    pista=(
        "el detector anota el lugar en el momento del préstamo, no en el de la pérdida. "
        "Cuenta las líneas de la celda de procesar_pedido desde la del `def` (línea 1)."
    ),
    huella="d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35",
    explicacion="El detector señala dónde se pidió la conexión, no dónde se perdió.",
)

registrar(
    "10.2",
    pista=(
        "¿llama alguien a putconn() con `del`? ¿Recupera el hueco un detector que solo observa? "
        "Repasa el aviso que viste con procesar_pedido(7). Escribe solo la letra, entre comillas."
    ),
    huella="2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
    explicacion="`del` pierde la conexión: el detector lo ve al momento, pero el hueco no vuelve.",
)

registrar(
    "10.3",
    pista=(
        "la columna `lugar` del informe dice «celda In[N], línea L»: L es la respuesta. Si el informe está "
        "vacío, espera más que el umbral antes de pedirlo. Cuenta las líneas desde la primera de la celda."
    ),
    huella="ef2d127de37b942baad06145e54b0c619a1f22327b2ebbcfbec78f5564afe39d",
    explicacion="Esa conexión sigue en la lista `guardadas`: retenida, no perdida.",
)


def _probar_visita(funcion: Any) -> str | None:
    """Llama a la función del alumno contra el pool real y mira si queda alguna conexión en uso."""
    from psycopg_pool import PoolTimeout

    from ...conexion import Conexion

    if not callable(funcion):
        return "`registrar_visita_segura` debe ser una función: escríbela con `def registrar_visita_segura(nombre):`."
    Conexion.cerrar_conexiones()  # un pool nuevo, sin huecos perdidos de antes
    pool = Conexion.obtener_pool()
    try:
        resultado = funcion("Ana")
        if resultado != "visita de Ana registrada":
            return f"registrar_visita_segura('Ana') devolvió {resultado!r}; debería devolver 'visita de Ana registrada'."
        if pool.get_stats().get("requests_num", 0) == 0:
            return "tu función no pidió ninguna conexión al pool: tiene que ejecutar la consulta, como la original."
        for _ in range(Conexion.MAX_CON + 1):
            try:
                funcion("")
            except ValueError:
                pass
            except PoolTimeout:
                return (
                    "el pool se agotó: cada llamada con el nombre vacío sigue perdiendo una conexión. "
                    "Usa `with Conexion.obtener_conexion()` o devuelve la conexión en un `finally`."
                )
            else:
                return "con el nombre vacío debe lanzar ValueError, como la original."
        estadisticas = pool.get_stats()
        en_uso = estadisticas["pool_size"] - estadisticas["pool_available"]
        if en_uso:
            return f"tras las llamadas quedaron {en_uso} conexiones en uso: alguna salida de tu función no la devuelve."
        return None
    finally:
        Conexion.cerrar_conexiones()


registrar(
    "10.4",
    pista="la conexión tiene que volver al pool salga como salga la función: `with` o `try`/`finally`.",
    probar=_probar_visita,
    explicacion="La conexión vuelve al pool salga como salga la función.",
)
