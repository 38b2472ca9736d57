"""One router per resource; each module keeps its SQL next to the routes that shape its answers."""
