// Numbers and times as people in Guatemala write them.
const integer = new Intl.NumberFormat("es-GT", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("es-GT", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat("es-GT", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const time = new Intl.DateTimeFormat("es-GT", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export const formatInt = (n: number): string => integer.format(n);
export const formatDecimal = (n: number | null | undefined): string => (n == null ? "—" : decimal.format(n));
export const formatPercent = (n: number): string => `${percent.format(n)} %`;
export const formatTime = (iso: string): string => time.format(new Date(iso));
export const formatMs = (n: number | null | undefined): string => (n == null ? "—" : `${decimal.format(n)} ms`);

export const ROUTE_LABEL: Record<string, string> = { grpc: "gRPC", redis: "Redis/Celery" };
const dateTime = new Intl.DateTimeFormat("es-GT", { dateStyle: "medium", timeStyle: "medium" });
export const formatDateTime = (iso: string): string => dateTime.format(new Date(iso));
