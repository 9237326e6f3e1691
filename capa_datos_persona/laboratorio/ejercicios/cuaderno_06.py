"""Ejercicios del cuaderno 6: «Mira la ocupación del pool a lo largo del tiempo».

* 06.1 (predice y ejecuta, opción múltiple): qué hace ``max_idle`` con las
  conexiones que sobran.
* 06.2 (predice y ejecuta, opción múltiple): en el agotamiento, cuándo vuelve a 0
  la línea «peticiones esperando» (``requests_waiting``).
* 06.3 (función de pandas, se comprueba con registros de prueba): cuántos
  segundos siguió contada una petición que ya había recibido ``PoolTimeout``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from . import huella, registrar

_LETRAS = ("a", "b", "c", "d")


def _opcion(correcta: str, pistas: dict[str, str]) -> Callable[[Any], str | None]:
    """Comprueba una letra por su huella y, si no es la buena, da la pista de esa letra."""

    def probar(respuesta: Any) -> str | None:
        letra = respuesta.strip().casefold() if isinstance(respuesta, str) else None
        if letra not in _LETRAS:
            return 'responde con una letra entre comillas: "a", "b", "c" o "d".'
        return None if huella(letra) == correcta else pistas[letra]

    return probar


registrar(
    "06.1",
    pista="mira la tabla del pool con max_idle = 1.",
    probar=_opcion(
        "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        {
            "a": "mira la tabla del pool con max_idle = 1: ¿cuántas abiertas hay en cada segundo?",
            "b": "mira la tabla del pool con max_idle = 1: ¿bajan las abiertas de 4 a 1 de una vez? "
            "Lee también los mensajes de psycopg_pool: ¿cuántas cierra en cada pasada?",
            "c": "mira la tabla del pool con max_idle = 1: sin llamar a close(), ¿se quedan en 4 las abiertas?",
            "d": "mira la gráfica del experimento 2: tras devolver las tres, ¿cuántas sesiones sigue viendo "
            "el servidor (la línea gris)?",
        },
    ),
)

registrar(
    "06.2",
    pista="mira la gráfica ampliada.",
    probar=_opcion(
        "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
        {
            "a": "en la gráfica ampliada, ¿está la línea morada todavía en 1 justo a la derecha de la ✖? "
            "Recibir PoolTimeout no saca la petición de la cola del pool.",
            "b": "la línea morada sí vuelve a 0 antes del final del registro: busca en la gráfica ampliada "
            "qué marca hay justo debajo del punto donde baja.",
            "c": "busca en la gráfica ampliada qué marca hay justo debajo del punto donde baja la línea morada.",
            "d": "los cinco ▼ están casi juntos: amplía más (set_xlim) y mira con cuál de ellos baja la línea morada. "
            "Basta una conexión devuelta para que el pool revise su cola.",
        },
    ),
)


def _registro_de_prueba(t_timeout: float, t_baja: float, t_fin: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Muestras cada 10 ms: nadie espera, luego una petición espera desde 1 s y el pool la cuenta hasta ``t_baja``."""
    t = [round(0.01 * i, 2) for i in range(int(t_fin * 100) + 1)]
    muestras = pd.DataFrame({
        "t": t,
        "tamano": 5,
        "disponibles": 0,
        "en_uso": 5,
        "esperando": [1 if 1.0 <= x < t_baja else 0 for x in t],
        "sesiones_servidor": 5,
    })
    eventos = pd.DataFrame({
        "t": [0.2, 0.4, 0.6, 0.8, 1.0, t_timeout] + [t_baja] * 5,
        "evento": ["obtenida"] * 5 + ["timeout"] + ["devuelta"] * 5,
        "conexion": [11, 12, 13, 14, 15, None, 11, 12, 13, 14, 15],
    }).astype({"conexion": "Int64"})
    return muestras, eventos


def _probar_segundos_de_mas(funcion: Any) -> str | None:
    if not callable(funcion):
        return "respuesta debe ser tu función, sin paréntesis: respuesta = segundos_de_mas"
    for t_timeout, t_baja, t_fin in ((4.0, 4.3, 5.0), (2.5, 3.25, 3.6)):
        muestras, eventos = _registro_de_prueba(t_timeout, t_baja, t_fin)
        obtenido = funcion(muestras.copy(), eventos.copy())
        if isinstance(obtenido, (pd.Series, pd.DataFrame)):
            return ("tu función devolvió una tabla de pandas, no un número: toma un solo valor, "
                    "por ejemplo con .iloc[0].")
        try:
            obtenido = float(obtenido)
        except (TypeError, ValueError):
            return f"tu función debe devolver un número de segundos; devolvió {obtenido!r}."
        esperado = t_baja - t_timeout
        if abs(obtenido - esperado) > 0.015:
            if obtenido <= 0:
                return ("salió 0 o negativo: busca la primera muestra con esperando == 0 *posterior* "
                        "al instante del evento \"timeout\" (antes de la espera también hay muestras con 0).")
            return ("con un registro de prueba no sale lo esperado: resta el instante del evento \"timeout\" "
                    "al de la primera muestra posterior con esperando == 0.")
    return None


registrar(
    "06.3",
    pista="el instante de la ✖ está en eventos (evento == \"timeout\"); el de la bajada, en muestras.",
    probar=_probar_segundos_de_mas,
)
