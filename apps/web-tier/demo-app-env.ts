/** The demo app's own setting, shared by the app and WebTierStack (which must not import the app's SDK client). */
export const VISITS_TABLE_ENV = 'VISITS_TABLE';
