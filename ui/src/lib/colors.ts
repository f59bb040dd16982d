/** Team colours: distinct, readable with white text, stable for a team's position. */
const PALETTE = [
  "#2563eb", // blue
  "#059669", // green
  "#7c3aed", // violet
  "#db2777", // pink
  "#0891b2", // cyan
  "#c2410c", // orange
  "#4d7c0f", // olive
  "#9333ea", // purple
  "#0f766e", // teal
  "#b45309", // amber
];

/** The colour of the team at `index` in the calendar's team list. */
export function teamColor(index: number): string {
  const n = PALETTE.length;
  return PALETTE[((index % n) + n) % n] ?? "#2563eb";
}
