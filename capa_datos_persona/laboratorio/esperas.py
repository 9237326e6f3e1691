"""Esperar a que algo pase, con un plazo: la única espera activa del laboratorio."""

from __future__ import annotations

import time
from collections.abc import Callable


def esperar_hasta(condicion: Callable[[], bool], espera: float, pausa: float = 0.01) -> bool:
    """Llama a ``condicion()`` cada ``pausa`` segundos hasta que sea verdadera o pasen ``espera`` segundos.

    Devuelve ``True`` si se cumplió a tiempo. La condición se comprueba al menos
    una vez, y una última vez al vencer el plazo.
    """
    limite = time.monotonic() + espera
    while True:
        if condicion():
            return True
        if time.monotonic() >= limite:
            return False
        time.sleep(pausa)
