// The map's shapes: frontend/public/geo/guatemala.topo.json (its provenance and terms are in
// frontend/public/geo/README.md), read once per page load and turned into GeoJSON by
// topojson-client.
import type { Feature, FeatureCollection, Geometry } from "geojson";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

export interface ShapeProps {
  code: string;
  nombre: string;
  departamento?: string;
}
export type Shape = Feature<Geometry, ShapeProps>;

export interface Shapes {
  departamentos: Shape[];
  municipios: Shape[];
}

let shapes: Promise<Shapes> | null = null;

function featuresOf(topology: Topology, name: string): Shape[] {
  const object = topology.objects[name] as GeometryCollection<ShapeProps> | undefined;
  if (!object) return [];
  const collection = feature(topology, object) as FeatureCollection<Geometry, ShapeProps>;
  return collection.features.map((f) => ({ ...f, properties: { ...f.properties, code: String(f.properties?.code ?? f.id ?? "") } }));
}

export function loadShapes(): Promise<Shapes> {
  shapes ??= fetch(`${import.meta.env.BASE_URL}geo/guatemala.topo.json`)
    .then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.json() as Promise<Topology>;
    })
    .then((topology) => ({ departamentos: featuresOf(topology, "departamentos"), municipios: featuresOf(topology, "municipios") }))
    .catch((error: unknown) => {
      shapes = null; // try again at the next page
      throw error;
    });
  return shapes;
}
