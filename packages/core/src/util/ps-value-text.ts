// The engine decodes host-call arguments with these, so they live in @psremote/psrp; core and the CLI use them
// for every other server value turned into text or a number.
export { psValueNumber, psValueText } from '@psremote/psrp';
