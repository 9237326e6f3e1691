# Dos órdenes para todo: `make lab` abre el curso, `make test` pasa las pruebas.
# Cada una crea .venv/ con requirements.txt si hace falta (ver tareas.py).
PYTHON ?= python3
ARGS ?=

.PHONY: lab test preparar estado detener

lab:
	$(PYTHON) tareas.py lab $(ARGS)

test:
	$(PYTHON) tareas.py test $(ARGS)

preparar:
	$(PYTHON) tareas.py preparar

estado: preparar
	.venv/bin/python -m capa_datos_persona estado

detener: preparar
	.venv/bin/python -m capa_datos_persona detener
