// The persona file a consultant would write for the demo retailer: one persona per latent
// persona, with deliberately partial key-driver rules (CONTRACT.md persona file format).
import { DEMO_AS_OF } from './generate.ts';

export const DEMO_PERSONAS_YAML = `# Personas of the demo retailer (personas demo). Rules pick seed customers; the models do the rest.
as_of: ${DEMO_AS_OF}
personas:
  - id: urban_digital
    label: "Léa, young urban digital shopper"
    description: "25-35, lives in a dense city neighbourhood, small baskets bought often on the app and the web, clicks our emails."
    key_drivers:
      all:
        - age: { between: [22, 38] }
        - any:
            - share_app: { gte: 0.3 }
            - email_click_rate: { gte: p90 }
        - tile_ind: { gte: p60 }
    min_seeds: 50
    threshold: auto
  - id: suburban_family
    label: "Julien and Claire, suburban family"
    description: "35-50, house owners in the suburbs with children, big store baskets at weekends, kids and home."
    key_drivers:
      all:
        - age: { between: [33, 52] }
        - share_cat_kids: { gte: 0.2 }
        - tile_share_owner: { gte: 0.5 }
    min_seeds: 50
    threshold: auto
  - id: affluent_senior
    label: "Jacqueline, affluent senior"
    description: "Retired, spends well above average, wealthy neighbourhood (Paris 16, Neuilly, Versailles, Lyon 6); store and phone."
    key_drivers:
      all:
        - age: { gte: 60 }
        - monetary_12m: { gte: 1.5x mean }
        - any:
            - tile_income: { gte: p75 }
            - postcode: { prefix: ["75016", "92200", "78000", "69006"] }
    min_seeds: 50
    threshold: auto
  - id: bargain_hunter
    label: "Karim, bargain hunter"
    description: "Any age, modest neighbourhood, buys often and mostly on promotion."
    key_drivers:
      all:
        - promo_share: { gte: 0.5 }
        - frequency_12m: { gte: 1x mean }
        - tile_share_poor: { gte: p50 }
    min_seeds: 50
    threshold: auto
  - id: rural_traditional
    label: "Bernard, rural and traditional"
    description: "Over 45, lives in the countryside, buys in store only, garden and food, few contacts."
    key_drivers:
      all:
        - tile_ind: { lte: p20 }
        - share_store: { gte: 0.8 }
        - age: { gte: 45 }
    min_seeds: 50
    threshold: auto
assignment:
  target_precision: 0.85
  min_margin: 0.1
`;
