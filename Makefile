# Shortcuts to the same commands as ./dev (see README.md).
.PHONY: test lint format unit static pack bench integration deploy images-list diagram reference

test:
	./dev test
lint format unit static pack bench integration:
	./dev tox -e $@
deploy:
	./dev deploy

images-list:
	./dev tox -q -e images-list

diagram:
	./dev tox -q -e diagram

reference:
	./dev tox -q -e reference
