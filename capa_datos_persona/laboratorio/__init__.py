"""El laboratorio del curso: herramientas de los cuadernos para observar y provocar.

Se apoya en la capa de datos (:class:`~capa_datos_persona.conexion.Conexion`),
que nunca lo importa a él. Cada módulo se importa por separado (los que dibujan
o hacen tablas cargan pandas y matplotlib, que tardan)::

    from capa_datos_persona.laboratorio import diagnostico, ocupacion, graficas

* :mod:`.diagnostico`: mirar ``pg_stat_activity`` desde una conexión propia, sin alterar nada.
* :mod:`.esperas`: «espera hasta que pase X o hasta el plazo», la única espera activa.
* :mod:`.ocupacion`: el registrador de ocupación del pool.
* :mod:`.graficas`: todas las gráficas.
* :mod:`.experimentos`: los tres experimentos de la lección, registrados.
* :mod:`.concurrencia`: varios hilos contra el pool, barrido de tamaños, ``max_waiting``.
* :mod:`.fallos`: cortar sesiones y reiniciar el servidor con el pool abierto.
* :mod:`.fugas`: el detector de fugas de conexiones.
* :mod:`.tablero`: el pool en vivo (fichas por conexión, cola con cuenta atrás, sesiones) y su repetición.
* :mod:`.asincrono`: hilos frente a corrutinas con ``AsyncConnectionPool`` (cuaderno 11).
* :mod:`.aplicacion`: la aplicación con tres fallos del diagnóstico final (cuaderno 12).
* :mod:`.ejercicios`: las comprobaciones de los ejercicios «Ponte a prueba».
"""
