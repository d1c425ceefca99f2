"""Writes env/data/world_population_cells.csv: the population of GeoNames' cities of 15,000 or
more summed over 2-degree cells, the land backdrop of planetgym's world maps.

    python3 scripts/world_population_cells.py ../shared/data/geo/geonames_cities15000.csv
"""

import collections
import csv
import pathlib
import sys

CELL_DEGREES = 2


def main(cities: str) -> None:
    cells = collections.Counter()
    with open(cities, newline="") as f:
        for row in csv.DictReader(f):
            lat = round(float(row["lat"]) / CELL_DEGREES) * CELL_DEGREES
            lon = round(float(row["lon"]) / CELL_DEGREES) * CELL_DEGREES
            cells[(lat, lon)] += int(row["population"])
    out = pathlib.Path(__file__).resolve().parent.parent / "env/data/world_population_cells.csv"
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["lat", "lon", "population"])
        for (lat, lon), population in sorted(cells.items()):
            writer.writerow([lat, lon, population])


if __name__ == "__main__":
    main(sys.argv[1])
