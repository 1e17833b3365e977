// The results site: shareable URLs for every level (wouter: a 2 kB router with hooks, enough
// for a handful of paths), the same data source for all of them (data/source.ts).
import { lazy, Suspense } from "react";
import { Link, Route, Switch, useParams } from "wouter";
import { DataProvider } from "./data/live";
import { SNAPSHOT_MODE } from "./data/source";
import { AreaPage } from "./pages/AreaPage";
import { MesaPage } from "./pages/MesaPage";
import { useSelection } from "./selection";

// The original panels load on demand: the results pages do not pay for them.
const VotesPage = lazy(() => import("./pages/VotesPage").then((m) => ({ default: m.VotesPage })));

function Nav() {
  const { query } = useSelection();
  return (
    <header className="top">
      <p className="brand">
        <Link href={`/${query}`}>Escrutinio · Resultados</Link>
      </p>
      <nav aria-label="Secciones" className="sections">
        <Link href={`/${query}`}>Resultados</Link>
        <Link href="/votos">Votos transmitidos</Link>
        <a href="/#verificar">Verificar</a>
      </nav>
      <p className="mode">{SNAPSHOT_MODE ? "Datos de instantáneas públicas" : "Datos de la API"}</p>
    </header>
  );
}

function DepartamentoRoute() {
  const { dep } = useParams<{ dep: string }>();
  return <AreaPage departamento={dep} />;
}
function MunicipioRoute() {
  const { mun } = useParams<{ mun: string }>();
  return <AreaPage departamento={mun.slice(0, 2)} municipio={mun} />;
}
function SedeRoute() {
  const { mun, sede } = useParams<{ mun: string; sede: string }>();
  return <AreaPage departamento={mun.slice(0, 2)} municipio={mun} sede={sede} />;
}
function MesaRoute() {
  const { mun, sede, mesa } = useParams<{ mun: string; sede: string; mesa: string }>();
  return <MesaPage municipio={mun} sede={sede} mesa={mesa} />;
}

export function App() {
  return (
    <DataProvider>
      <Nav />
      <main>
        <Suspense fallback={<p className="empty">Cargando…</p>}>
          <Switch>
            <Route path="/">
              <AreaPage />
            </Route>
            <Route path="/d/:dep" component={DepartamentoRoute} />
            <Route path="/m/:mun" component={MunicipioRoute} />
            <Route path="/s/:mun/:sede" component={SedeRoute} />
            <Route path="/mesa/:mun/:sede/:mesa" component={MesaRoute} />
            <Route path="/votos" component={VotesPage} />
            <Route>
              <section className="panel">
                <h1>Página no encontrada</h1>
                <p>
                  <Link href="/">Volver a los resultados nacionales</Link>
                </p>
              </section>
            </Route>
          </Switch>
        </Suspense>
      </main>
    </DataProvider>
  );
}
