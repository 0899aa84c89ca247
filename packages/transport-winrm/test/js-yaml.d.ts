// js-yaml 4 ships no types; the tests only read the recordings with it.
declare module 'js-yaml' {
  export function load(text: string): unknown;
}
