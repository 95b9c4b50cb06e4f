"""The header names an import recognises, by lead field: ours, and those of the exports users
bring (Apollo, HubSpot, Salesforce, Pipedrive, LinkedIn Sales Navigator exporters)."""

from __future__ import annotations

#: Column names a header may use, by the field they fill, in tiers: when a file has columns
#: of several tiers for one field, the first tier's column is used and the others are
#: ignored (Apollo's "Company" over its "Company Name for Emails"); two columns of the same
#: tier are refused as ambiguous, except for the fields in ``MULTI``. Headers are compared
#: lower-cased with everything but letters and digits removed, so "E-mail", "e_mail" and
#: "EMAIL" agree.
ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "first_name": (("firstname", "first", "givenname", "forename"),),
    "last_name": (("lastname", "last", "surname", "familyname"),),
    "full_name": (("fullname", "contactname"), ("name", "contact")),
    "email": (("email", "emailaddress", "mail"),
              ("workemail", "businessemail", "professionalemail", "emailwork",
               "primaryemail")),
    # Phone columns in the order they are tried: direct or work, mobile, the company's
    # switchboard, other, home.
    "phone": (("phone", "phonenumber", "telephone", "tel", "workphone", "workdirectphone",
               "directphone", "directdial", "businessphone", "officephone", "phonework",
               "primaryphone", "phone1", "phone2", "phone3"),
              ("mobile", "mobilephone", "mobilephonenumber", "mobilenumber", "cell",
               "cellphone", "phonemobile"),
              ("corporatephone", "companyphone", "phonecorporate"),
              ("otherphone", "phoneother"),
              ("homephone", "phonehome")),
    "company": (("company", "companyname", "organisation", "organization", "account",
                 "accountname", "employer", "companyaccount", "currentcompany"),
                ("companynameforemails", "organizationname", "organisationname")),
    "title": (("title", "jobtitle", "position", "role", "currenttitle", "primarytitle"),),
    "linkedin_url": (("linkedinurl", "linkedin", "linkedinprofile", "linkedinprofileurl",
                      "personlinkedinurl"),
                     ("profileurl", "defaultprofileurl"),
                     ("salesnavigatorurl", "salesnavigatorprofileurl", "salesnavurl")),
    "location": (("location", "personlocation"), ("geography",)),
    "city": (("city", "mailingcity", "citytown", "town", "personcity"),),
    "state": (("state", "stateregion", "stateprovince", "province", "mailingstate",
               "mailingstateprovince"),),
    "country": (("country", "countryregion", "mailingcountry", "personcountry"),),
    "stage": (("stage", "pipelinestage", "leadstage"),),
    "status": (("status", "leadstatus"),),
    "owner": (("owner", "owneremail", "assignedto"),),
    "source": (("source", "leadsource"),),
    "custom_fields": (("customfields",),),
}
#: Fields several columns may fill: the first valid phone is kept; city, state and country
#: make the location (when no location column has one).
MULTI = frozenset({"phone", "city", "state", "country"})
#: The parts of a location, in the order they are joined.
PLACE_PARTS = ("city", "state", "country")
#: Columns that go to a custom field under a name of ours.
CUSTOM_ALIASES = {"apollocontactid": "apollo_person_id",
                  "apolloaccountid": "apollo_organization_id"}
#: What a "Person - ..." column of a Pipedrive export may fill (the prefix is dropped); its
#: owner, labels and the like are Pipedrive's, not ours.
PERSON_FIELDS = frozenset({"first_name", "last_name", "full_name", "email", "phone", "company",
                           "title", "linkedin_url", "location", "city", "state", "country"})
#: Columns only another tool's export has. In such a file the stage, status and owner
#: columns hold that tool's values, not this pipeline's or a member's: they are ignored
#: unless a column map names them.
FOREIGN_MARKERS = frozenset({
    # Apollo
    "apollocontactid", "apolloaccountid", "personlinkedinurl", "companynameforemails",
    "workdirectphone", "corporatephone", "emailstatus",
    # HubSpot
    "recordid", "contactowner", "lifecyclestage", "stateregion", "countryregion",
    # Salesforce
    "contactid", "leadid", "accountname", "companyaccount", "leadowner", "accountowner",
    "mailingcity", "mailingstateprovince", "mailingcountry",
    # Sales Navigator exporters
    "profileurl", "defaultprofileurl", "salesnavigatorurl", "vmid",
})
#: Pipedrive names its columns "Person - Name", "Organization - Name", "Deal - Title".
FOREIGN_PREFIXES = ("person", "organization", "organisation", "deal")
FOREIGN_FIELDS = frozenset({"stage", "status", "owner"})
