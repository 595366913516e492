/** A decimal number as a user types it ("100", "-0.5", ".5", "4e7"; no "inf", no hex). */
export const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
